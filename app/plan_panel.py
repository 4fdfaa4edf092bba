"""The plan panel: for planners that keep a plan, the steps done, the current one and the
ones still to do.

`PlanTracker` is plain Python (tested without Qt): it follows each decision's `subgoal` (the
plan step the action serves) and `plan` (the steps after it). A sub-goal that is replaced by
another one, and is not still planned, counts as done; a successful `done` closes the current
one. D-PoT revises its plan every step, so "to do" is always the planner's latest word.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app import style
from guiagent.schema import Decision, Done


@dataclass
class PlanState:
    done: list[str] = field(default_factory=list)
    current: str | None = None
    todo: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"done": list(self.done), "current": self.current, "todo": list(self.todo)}


class PlanTracker:
    def __init__(self) -> None:
        self.state = PlanState()

    def reset(self) -> None:
        self.state = PlanState()

    def update(self, decision: Decision) -> PlanState:
        s = self.state
        sub = decision.subgoal.strip()
        todo = [p.strip() for p in decision.plan if p.strip()]
        if sub and sub != s.current:
            self._close_current(keep_if_planned=todo)
            s.current = sub
        if isinstance(decision.action, Done) and decision.action.status == "success":
            self._close_current(keep_if_planned=[])
            todo = []
        s.todo = [t for t in todo if t != s.current]
        return s

    def finish(self, success: bool) -> PlanState:
        if success:
            self._close_current(keep_if_planned=[])
        return self.state

    def _close_current(self, keep_if_planned: list[str]) -> None:
        s = self.state
        if s.current and s.current not in keep_if_planned and s.current not in s.done:
            s.done.append(s.current)
        s.current = None


class PlanPanel(QFrame):
    """Shows a PlanState; a note instead when the planner keeps no plan."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.tracker = PlanTracker()
        self.keeps_plan = True
        root = QVBoxLayout(self)
        root.setContentsMargins(14, 12, 14, 12)
        root.setSpacing(6)
        head = QHBoxLayout()
        title = QLabel("PLAN")
        title.setObjectName("h2")
        head.addWidget(title)
        head.addStretch(1)
        self.count = QLabel("")
        self.count.setObjectName("badge")
        head.addWidget(self.count)
        root.addLayout(head)
        self.rows = QVBoxLayout()
        self.rows.setSpacing(4)
        root.addLayout(self.rows)
        root.addStretch(1)
        self._render()

    @property
    def state(self) -> PlanState:
        return self.tracker.state

    def reset(self, keeps_plan: bool = True, planner: str = "", note: str | None = None) -> None:
        """`note` replaces the "keeps no plan" text (a recording, an episode without plans)."""
        self.tracker.reset()
        self.keeps_plan = keeps_plan
        self._planner = planner
        self._custom_note = note
        self._render()

    def update_decision(self, decision: Decision) -> None:
        self.tracker.update(decision)
        self._render()

    def finish(self, success: bool) -> None:
        self.tracker.finish(success)
        self._render()

    def set_state(self, state: PlanState, keeps_plan: bool = True, note: str | None = None) -> None:
        """Show a plan rebuilt elsewhere (the replay of an episode)."""
        self.tracker.state = state
        self.keeps_plan = keeps_plan
        self._custom_note = note
        self._render()

    def _render(self) -> None:
        while self.rows.count():
            item = self.rows.takeAt(0)
            old = item.widget() if item is not None else None
            if old is not None:  # hidden and detached now; deleteLater only frees it later
                old.hide()
                old.setParent(None)
                old.deleteLater()
        s = self.tracker.state
        total = len(s.done) + (1 if s.current else 0) + len(s.todo)
        self.count.setText(f"{len(s.done)}/{total} done" if total else "")
        self.count.setVisible(bool(total))
        if not self.keeps_plan:
            self._note(getattr(self, "_custom_note", None) or f"{getattr(self, '_planner', '') or 'This planner'} "
                       "keeps no explicit plan: its thoughts are in the timeline.")
            return
        if not total:
            self._note("The plan appears here once the agent starts: steps done, the current one, what is left.")
            return
        for text in s.done:
            self._row("✓", text, style.color("success"), muted=True)
        if s.current:
            self._row("▶", s.current, style.color("accent"), bold=True)
        for text in s.todo:
            self._row("○", text, style.color("muted"))

    def _note(self, text: str) -> None:
        label = QLabel(text)
        label.setObjectName("muted")
        label.setWordWrap(True)
        self.rows.addWidget(label)

    def _row(self, mark: str, text: str, color: str, *, muted: bool = False, bold: bool = False) -> None:
        row = QWidget()
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 1, 0, 1)
        lay.setSpacing(8)
        icon = QLabel(mark)
        icon.setStyleSheet(f"color: {color}; font-weight: 700;")
        icon.setFixedWidth(16)
        icon.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(icon)
        label = QLabel(text)
        label.setWordWrap(True)
        css = []
        if muted:
            css.append(f"color: {style.color('muted')};")
        if bold:
            css.append("font-weight: 700;")
        label.setStyleSheet(" ".join(css))
        lay.addWidget(label, 1)
        row.setProperty("planText", text)
        self.rows.addWidget(row)
