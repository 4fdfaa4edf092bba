"""The exploration graph: screens are nodes, actions are edges.

A screen is identified by a signature that survives what should not make it a new screen:
the set of (role, name) tokens of its elements, names case-folded with digits masked (clocks,
counters), system chrome (status and navigation bars) left out, unnamed controls placed on a
coarse grid. When a screen has too few tokens to tell it apart (a canvas, a blank page), a
coarse 8x8 frame hash joins them. Two signatures whose token sets overlap by at least
`match_threshold` (Jaccard) are the same screen, so a toast or one changed label does not
split a node. A screen's *template* is its structure without the texts (role + resource id or
class): every contact's detail page shares one template, the launcher and Settings do not.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from PIL import Image

from guiagent.schema import Element, Role

# Elements of these packages are system chrome: the same on every screen, or changing with
# the device state (clock, battery, Wi-Fi icon), so they never identify a screen.
CHROME_PACKAGES = ("com.android.systemui",)
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_GRID = 8  # unnamed controls are placed on an 8x8 grid of the screen
VisitKind = Literal["new_template", "new_screen", "known"]


def is_chrome(e: Element) -> bool:
    pkg = str(e.extras.get("package") or "")
    return any(pkg == p or pkg.startswith(p + ".") for p in CHROME_PACKAGES)


def normalize_name(text: str) -> str:
    """Case-folded, digits masked, whitespace collapsed: "12:05" and "12:06" are one token."""
    return _SPACE.sub(" ", _DIGITS.sub("#", text.casefold())).strip(" .:;,")


def _identifies(e: Element) -> bool:
    return not is_chrome(e) and e.role not in (Role.WINDOW,) and e.width > 0 and e.height > 0


def screen_tokens(elements: tuple[Element, ...] | list[Element], size: tuple[int, int]) -> frozenset[str]:
    """(role, name) tokens of a screen; unnamed controls by role and coarse position."""
    w, h = max(size[0], 1), max(size[1], 1)
    tokens = set()
    for e in elements:
        if not _identifies(e):
            continue
        # a field's value is what was typed into it, not what it is: name or hint only
        name = normalize_name(e.name or (str(e.extras.get("hint") or "") if e.editable else ""))
        if name:
            tokens.add(f"{e.role.value}:{name}")
        elif e.clickable or e.editable or e.role not in (Role.CONTAINER, Role.OTHER, Role.TEXT):
            cx, cy = e.center
            tokens.add(f"{e.role.value}@{int(cx * _GRID / w)},{int(cy * _GRID / h)}")
    return frozenset(tokens)


def template_tokens(elements: tuple[Element, ...] | list[Element]) -> frozenset[str]:
    """Structure without texts: role + resource id (or class) of each non-chrome element."""
    out = set()
    for e in elements:
        if _identifies(e):
            rid = str(e.extras.get("resource_id") or "")
            out.add(f"{e.role.value}:{rid or e.extras.get('class') or ''}")
    return frozenset(out)


def frame_hash(img: Image.Image) -> str:
    """64-bit average hash of an 8x8 grayscale thumbnail (16 hex digits)."""
    a = np.asarray(img.convert("L").resize((8, 8), Image.Resampling.BOX), dtype=np.float32)
    bits = (a > a.mean()).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def _digest(parts: list[str]) -> str:
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ScreenSignature:
    key: str  # exact identity
    tokens: frozenset[str]
    template: str  # structure hash
    frame: str  # coarse frame hash (always computed, used in `key` only for sparse screens)


def signature_of(elements: tuple[Element, ...] | list[Element], image: Image.Image | None,
                 size: tuple[int, int], min_tokens: int = 3) -> ScreenSignature:
    tokens = screen_tokens(elements, size)
    frame = frame_hash(image) if image is not None else "0" * 16
    parts = sorted(tokens)
    if len(tokens) < min_tokens:  # too little structure to tell screens apart: add the pixels
        parts.append("frame:" + frame)
    template = _digest(sorted(template_tokens(elements)) or ["frame:" + frame])
    return ScreenSignature(_digest(parts), tokens, template, frame)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass
class ActionInfo:
    """What the graph knows about one candidate action of a screen."""

    group: str  # actions of one group share a novelty prior (e.g. all rows of one list)
    label: str
    escape: bool = False  # back / home


@dataclass
class ScreenNode:
    id: str
    key: str
    tokens: frozenset[str]
    template: str
    title: str = ""
    foreground: str | None = None
    depth: int = 0
    visits: int = 0
    first_step: int = 0
    image: str | None = None  # file name under images/, None when not written (secure / no collector)
    secure: bool = False  # the frame captured black (FLAG_SECURE): no records from it
    actions: dict[str, ActionInfo] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)  # action key -> guard reason

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "title": self.title, "foreground": self.foreground,
                "template": self.template, "depth": self.depth, "visits": self.visits,
                "first_step": self.first_step, "image": self.image, "secure": self.secure,
                "tokens": sorted(self.tokens), "actions": {k: a.label for k, a in self.actions.items()},
                "blocked": self.blocked}


@dataclass
class Edge:
    source: str
    action: str
    tries: int = 0
    failures: int = 0
    dests: Counter[str] = field(default_factory=Counter)  # destination node -> times

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "action": self.action, "tries": self.tries,
                "failures": self.failures, "dests": dict(self.dests)}


class ExplorationGraph:
    """Screens and the transitions between them, with visit counts and depths."""

    def __init__(self, match_threshold: float = 0.8) -> None:
        self.match_threshold = match_threshold
        self.nodes: dict[str, ScreenNode] = {}
        self.edges: dict[tuple[str, str], Edge] = {}
        self.templates: set[str] = set()
        self.root: str | None = None
        self._by_key: dict[str, str] = {}

    def match(self, sig: ScreenSignature) -> ScreenNode | None:
        """The known screen this signature belongs to: same key, else the most similar token
        set at or above the threshold (only among screens with enough tokens to compare)."""
        node_id = self._by_key.get(sig.key)
        if node_id is not None:
            return self.nodes[node_id]
        if len(sig.tokens) < 3:
            return None
        best, best_j = None, self.match_threshold
        for node in self.nodes.values():
            if len(node.tokens) >= 3 and (j := jaccard(sig.tokens, node.tokens)) >= best_j:
                best, best_j = node, j
        if best is not None:
            self._by_key[sig.key] = best.id
        return best

    def visit(self, sig: ScreenSignature, step: int, *, title: str = "", foreground: str | None = None,
              depth: int = 0) -> tuple[ScreenNode, VisitKind]:
        """Count a visit; returns the node and what it was: "new_template" (a new kind of
        screen), "new_screen" (new, of a known kind) or "known"."""
        node = self.match(sig)
        if node is not None:
            node.visits += 1
            return node, "known"
        kind: VisitKind = "new_screen" if sig.template in self.templates else "new_template"
        node = ScreenNode(id=f"s{len(self.nodes):04d}", key=sig.key, tokens=sig.tokens, template=sig.template,
                          title=title, foreground=foreground, depth=depth, visits=1, first_step=step)
        self.nodes[node.id] = node
        self._by_key[sig.key] = node.id
        self.templates.add(sig.template)
        if self.root is None:
            self.root = node.id
        return node, kind

    def add_transition(self, source: str, action: str, dest: str | None) -> Edge:
        """Record one try of `action` at `source`; `dest` None = the action failed."""
        edge = self.edges.get((source, action))
        if edge is None:
            edge = self.edges[(source, action)] = Edge(source, action)
        edge.tries += 1
        if dest is None:
            edge.failures += 1
        else:
            edge.dests[dest] += 1
            self._update_depths()
        return edge

    def tries(self, source: str, action: str) -> int:
        edge = self.edges.get((source, action))
        return edge.tries if edge else 0

    def _update_depths(self) -> None:
        """Depth = fewest known transitions from the first screen (BFS; the graph is small)."""
        if self.root is None:
            return
        nexts: dict[str, set[str]] = {}
        for (src, _), e in self.edges.items():
            nexts.setdefault(src, set()).update(e.dests)
        depth = {self.root: 0}
        queue = deque([self.root])
        while queue:
            cur = queue.popleft()
            for nxt in nexts.get(cur, ()):
                if nxt not in depth:
                    depth[nxt] = depth[cur] + 1
                    queue.append(nxt)
        for node in self.nodes.values():
            # a node reached only through a failed path keeps the depth it was found at
            node.depth = depth.get(node.id, node.depth)

    def to_json(self) -> dict[str, Any]:
        return {"root": self.root, "templates": len(self.templates),
                "nodes": [n.to_json() for n in self.nodes.values()],
                "edges": [e.to_json() for e in self.edges.values()]}
