"""`report.html` for an episode: every step's frame with its action drawn on it.

The drawing is an SVG overlay on the frame file (referenced relatively), so the report costs
no image re-encoding and the folder stays self-contained: open it from anywhere.
"""

from __future__ import annotations

import html
import logging
import time
from pathlib import Path
from typing import assert_never

from PIL import Image

from guiagent.recorder.episode import read_episode
from guiagent.schema import (
    Back,
    Click,
    Done,
    DoubleClick,
    Drag,
    Home,
    Hover,
    Key,
    LongPress,
    OpenApp,
    RightClick,
    Scroll,
    Step,
    Swipe,
    Target,
    TypeText,
    Wait,
    describe_action,
)

log = logging.getLogger(__name__)
REPORT = "report.html"
_SCROLL_VEC = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}
.step{display:flex;gap:1.5em;background:#fff;border:1px solid #ddd;border-radius:6px;padding:1em;margin:1em 0}
.step svg{max-width:62vw;height:auto;border:1px solid #ccc;flex:none}
.info{min-width:18em}.info dt{font-weight:600;color:#555;margin-top:.4em}.info dd{margin:0 0 0 .5em}
.ok{color:#080}.failed,.blocked{color:#b00}.skipped{color:#a60}
code{background:#eee;padding:0 .25em;border-radius:3px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _px(target: Target | None, size: tuple[int, int]) -> tuple[float, float] | None:
    if target is None or target.point is None:
        return None
    return target.point.x * size[0], target.point.y * size[1]


def _label(x: float, y: float, text: str, r: float, color: str = "#d00") -> str:
    return (f'<text x="{x + r:.1f}" y="{y - r:.1f}" font-size="{r * 1.4:.0f}" fill="{color}" '
            f'stroke="#fff" stroke-width="{r / 6:.1f}" paint-order="stroke">{_e(text)}</text>')


def _arrow(a: tuple[float, float], b: tuple[float, float], w: float, color: str = "#d00") -> str:
    return (f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" stroke="{color}" '
            f'stroke-width="{w:.1f}" marker-end="url(#head)"/>'
            f'<circle cx="{a[0]:.1f}" cy="{a[1]:.1f}" r="{w * 1.5:.1f}" fill="{color}"/>')


def action_overlay(step: Step, size: tuple[int, int]) -> str:
    """SVG shapes for the step's target element box and its action."""
    r = max(size) / 90  # marker radius scales with the screen
    w = r / 3
    parts: list[str] = []
    el = step.target_element
    if el is not None:
        left, top, right, bottom = el.bbox
        parts.append(f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" '
                     f'stroke="#06c" stroke-width="{w:.1f}" stroke-dasharray="{r:.0f},{r / 2:.0f}"/>')
    action = step.action
    center = (size[0] / 2, size[1] / 2)

    def ring(p: tuple[float, float], rr: float, color: str = "#d00", fill: str = "none") -> str:
        return (f'<circle cx="{p[0]:.1f}" cy="{p[1]:.1f}" r="{rr:.1f}" fill="{fill}" stroke="{color}" '
                f'stroke-width="{w:.1f}"/>')

    match action:
        case None:
            pass
        case Click() | DoubleClick() | RightClick() | LongPress():
            p = _px(action.target, size)
            if p is not None:
                color = "#80c" if isinstance(action, RightClick) else "#d00"
                parts.append(ring(p, r, color, fill="rgba(221,0,0,.35)" if isinstance(action, LongPress) else "none"))
                if isinstance(action, DoubleClick):
                    parts.append(ring(p, r * 1.6, color))
                parts.append(ring(p, w, color, fill=color))
                if not isinstance(action, Click):
                    parts.append(_label(p[0], p[1], action.type.replace("_", " "), r, color))
        case Hover():  # the click's target ring, hollow and unpressed
            p = _px(action.target, size)
            if p is not None:
                parts.append(ring(p, r, "#06c"))
                parts.append(_label(p[0], p[1], "hover", r, "#06c"))
        case TypeText():
            p = _px(action.target, size) or ((el.bbox[0], el.bbox[3] + r * 1.5) if el else (r, r * 2))
            text = f"⌨ {action.text}" + (" ⏎" if action.submit else "")
            parts.append(_label(p[0], p[1], text, r))
        case Key():
            parts.append(_label(r, r * 2, "key " + action.chord, r))
        case Scroll():
            a = _px(action.anchor, size) or center
            dx, dy = _SCROLL_VEC[action.direction]
            length = min(size) * 0.25
            parts.append(_arrow(a, (a[0] + dx * length, a[1] + dy * length), w))
            parts.append(_label(a[0], a[1], f"scroll {action.direction} {action.amount:g}", r))
        case Swipe() | Drag():
            start, end = _px(action.start, size), _px(action.end, size)
            if start is not None and end is not None:
                parts.append(_arrow(start, end, w))
                parts.append(_label(start[0], start[1], action.type, r))
        case Back() | Home() | OpenApp() | Wait() | Done():
            parts.append(_label(r, r * 2, describe_action(action), r))
        case _:
            assert_never(action)
    return "".join(parts)


def _frame_size(folder: Path, step: Step, fallback: tuple[int, int]) -> tuple[int, int]:
    if step.frame:
        try:
            with Image.open(folder / step.frame) as im:  # reads the header only
                return im.size
        except OSError:
            pass
    return step.screen_size if step.screen_size != (0, 0) else fallback


def _step_html(folder: Path, step: Step, fallback: tuple[int, int]) -> str:
    size = _frame_size(folder, step, fallback)
    if step.frame:
        img = f'<image href="{_e(step.frame)}" width="{size[0]}" height="{size[1]}"/>'
    else:
        img = f'<rect width="{size[0]}" height="{size[1]}" fill="#eee"/>'
    svg = (f'<svg viewBox="0 0 {size[0]} {size[1]}" width="{size[0]}" xmlns="http://www.w3.org/2000/svg">'
           f'{img}{action_overlay(step, size)}</svg>')
    rows: list[tuple[str, str]] = []
    d = step.decision
    if d is not None and d.thought:
        rows.append(("thought", _e(d.thought)))
    if d is not None and d.subgoal:
        rows.append(("sub-goal", _e(d.subgoal)))
    rows.append(("action", f"<code>{_e(describe_action(step.action))}</code>" if step.action else "none"))
    if step.target_element is not None:
        t = step.target_element
        rows.append(("target", _e(f"{t.role} {t.label!r} [{t.source}] box {t.bbox}")))
    o = step.outcome
    rows.append(("outcome", f'<span class="{_e(o.status)}">{_e(o.status)}</span>'
                 + (f" ({_e(o.error)})" if o.error else "") + (f", via {_e(o.via)}" if o.via else "")))
    if step.guard is not None:
        g = step.guard
        rows.append(("guard", _e(g.verdict + (f" ({g.resolution})" if g.resolution else "")
                                 + (f": {g.reason}" if g.reason else ""))))
    if step.timings_ms:
        rows.append(("timings", _e(", ".join(f"{k} {v:.0f} ms" for k, v in step.timings_ms.items()))))
    if step.usage.calls:
        rows.append(("tokens", _e(f"{step.usage.total} in {step.usage.calls} calls")))
    when = time.strftime("%H:%M:%S", time.localtime(step.timestamp))
    info = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (f'<div class="step" id="step-{step.index}">{svg}<dl class="info"><dt>step {step.index} '
            f'· {_e(step.source)} · {when}</dt>{info}</dl></div>')


def write_report(folder: Path) -> Path:
    """Write `folder/report.html` for the episode in `folder`; returns its path."""
    folder = Path(folder)
    traj = read_episode(folder)
    m = traj.meta
    fallback = m.screen_size if m.screen_size != (0, 0) else (1280, 800)
    marker = ('<svg width="0" height="0" style="position:absolute"><defs><marker id="head" markerWidth="4" '
              'markerHeight="4" refX="2" refY="2" orient="auto"><path d="M0,0 L4,2 L0,4 z" fill="#d00"/>'
              '</marker></defs></svg>')
    dur = f"{(m.ended_at - m.started_at):.1f} s" if m.ended_at else "still running"
    head = (f"<h1>{_e(m.task)}</h1><p>{_e(m.source)} episode <code>{_e(m.id)}</code> on {_e(m.device or '?')} "
            f"({_e(m.platform or '?')}): <b>{_e(m.status)}</b>{_e(': ' + m.reason) if m.reason else ''}, "
            f"{len(traj.steps)} steps, {dur}"
            + (f", planner {_e(m.planner)}" if m.planner else "") + (f", grounder {_e(m.grounder)}" if m.grounder else "")
            + (f"; answer: {_e(m.answer)}" if m.answer else "")
            + (f"; {m.usage.total} tokens" if m.usage.calls else "") + "</p>")
    body = "".join(_step_html(folder, s, fallback) for s in traj.steps)
    doc = (f'<!doctype html><html><head><meta charset="utf-8"><title>{_e(m.task)}</title>'
           f"<style>{_CSS}</style></head><body>{marker}{head}{body}</body></html>")
    out = folder / REPORT
    tmp = folder / f".{REPORT}.tmp"
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(out)
    log.info("wrote %s (%d steps)", out, len(traj.steps))
    return out
