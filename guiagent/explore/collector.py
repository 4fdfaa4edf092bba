"""Writes what exploration collects, crash-safe:

    OUT/images/<screen>.png      the frame of each screen, at its first visit
    OUT/screens/<screen>.json    its elements (id, role, name, bbox, ...), for audits and rebuilds
    OUT/screenspot.jsonl         records, appended and fsynced per screen
    OUT/screenspot.json          the same records as one ScreenSpot-format list, replaced atomically
    OUT/graph.json               nodes, edges, visit counts and the run summary, replaced atomically

A record: {img_filename, instruction, bbox: [x, y, w, h], data_type: text|icon,
data_source: "explore:<device>"} plus `screen`, `element`, `role`, `kind` (element | function: seen
on the screen or learned from a transition) and `instruction_kind` (literal | functional |
positional | icon, see `instructions.InstructionKind`).
An image is on disk before any record names it; a kill leaves at worst the screen in flight
unwritten, never a torn `screenspot.json`. Records are deduplicated on the instruction and its
box (IoU >= 0.8, so an OCR box a pixel off is the same target) across screens and visits: the
navigation bar's Back icon is one record, not one per screen.
Black frames (FLAG_SECURE) are not written: a black image teaches a grounder nothing.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import IO, Any

from PIL import Image

from guiagent.explore.graph import ExplorationGraph, ScreenNode
from guiagent.explore.instructions import (
    InstructionKind,
    box_xywh,
    data_type_for,
    extra_instructions,
    functional_instructions,
    screen_targets,
)
from guiagent.recorder.episode import atomic_write
from guiagent.schema import Element, Observation
from guiagent.schema.errors import ConfigError

log = logging.getLogger(__name__)

SET_FILE = "screenspot.json"
LOG_FILE = "screenspot.jsonl"
GRAPH_FILE = "graph.json"
DUPLICATE_IOU = 0.8  # one instruction at (nearly) the same box is one record


def iou(a: list[int], b: list[int]) -> float:
    """Intersection over union of two [x, y, w, h] boxes."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def is_blank(img: Image.Image) -> bool:
    """All (nearly) black: what screencap returns for a FLAG_SECURE window."""
    high = img.convert("L").getextrema()[1]  # one band: (min, max)
    assert not isinstance(high, tuple)
    return high < 8


def _element_json(e: Element) -> dict[str, Any]:
    return {"id": e.id, "role": e.role.value, "name": e.name, "value": e.value, "bbox": list(e.bbox),
            "clickable": e.clickable, "editable": e.editable, "enabled": e.enabled, "source": e.source,
            "checked": e.checked, "package": e.extras.get("package"),
            "resource_id": e.extras.get("resource_id"), "click_target": e.extras.get("click_target"),
            "description": e.extras.get("description")}  # a tooltip names an icon (guiagent train icons)


class GroundingCollector:
    """Collects (screen, instruction, target box) records into `out`."""

    def __init__(self, out: Path, source: str, meta: dict[str, Any] | None = None) -> None:
        self.out = Path(out)
        self.source = source
        self.meta = dict(meta or {})
        if (self.out / LOG_FILE).exists() and (self.out / LOG_FILE).stat().st_size > 0:
            raise ConfigError(f"{self.out} already holds an exploration; pick another --out folder")
        self.images = self.out / "images"
        self.screens = self.out / "screens"
        self.images.mkdir(parents=True, exist_ok=True)
        self.screens.mkdir(parents=True, exist_ok=True)
        self.records: list[dict[str, Any]] = []
        self._seen: dict[str, list[list[int]]] = {}  # instruction -> boxes recorded for it
        self._log: IO[str] | None = open(self.out / LOG_FILE, "a", encoding="utf-8")  # noqa: SIM115 - held open
        self._dirty = True
        self.flush()

    # -- adding ---------------------------------------------------------------------------

    def add_screen(self, node: ScreenNode, obs: Observation) -> int:
        """Write a newly found screen's frame and its element records; returns records added."""
        img = obs.screenshot
        if img is None or is_blank(img):
            node.secure = img is not None
            log.info("screen %s (%s) captures black; no records from it", node.id, node.title)
            return 0
        name = f"{node.id}.png"
        tmp = self.images / f".{name}.tmp"
        img.save(tmp, format="PNG")
        os.replace(tmp, self.images / name)
        node.image = name
        atomic_write(self.screens / f"{node.id}.json", json.dumps({
            "screen": node.id, "title": node.title, "foreground": obs.foreground,
            "size": list(obs.screen_size), "image": name,
            "elements": [_element_json(e) for e in obs.elements]}, ensure_ascii=False).encode())
        new = []
        targets = screen_targets(obs.elements, img.size, obs.foreground)
        extras = [extra_instructions(e, obs.elements) for e, _, _, _ in targets]
        # an extra instruction that fits two targets of this screen names neither: dropped
        uses: dict[str, int] = {}
        for more in extras:
            for _, text in more:
                uses[text.casefold()] = uses.get(text.casefold(), 0) + 1
        for (e, text, box, kind), more in zip(targets, extras, strict=True):
            variants: list[tuple[InstructionKind, str]] = [
                ("literal", text), *(v for v in more if uses[v[1].casefold()] == 1)]
            for ikind, instruction in variants:
                rec = self._record(name, instruction, box, kind, node.id, e, "element", ikind)
                if rec is not None:
                    new.append(rec)
        self._append(new)
        return len(new)

    def add_function(self, source: ScreenNode, element: Element, size: tuple[int, int], title: str) -> bool:
        """A functional record learned from a transition: `element` on `source` goes to `title`."""
        if source.image is None or not title:
            return False
        box = box_xywh(element, size)
        if box is None:
            return False
        recs = [self._record(source.image, text, box, data_type_for(element), source.id, element, "function",
                             "functional") for text in functional_instructions(element, title)]
        new = [r for r in recs if r is not None]
        self._append(new)
        return bool(new)

    def _record(self, image: str, text: str, box: list[int], kind: str, screen: str, e: Element,
                origin: str, instruction_kind: InstructionKind) -> dict[str, Any] | None:
        boxes = self._seen.setdefault(text.casefold(), [])
        if any(iou(box, b) >= DUPLICATE_IOU for b in boxes):
            return None
        boxes.append(box)
        return {"img_filename": image, "instruction": text, "bbox": box, "data_type": kind,
                "data_source": self.source, "screen": screen, "element": e.id, "role": e.role.value,
                "kind": origin, "instruction_kind": instruction_kind}

    def _append(self, records: list[dict[str, Any]]) -> None:
        if not records or self._log is None:
            return
        for r in records:
            self._log.write(json.dumps(r, ensure_ascii=False) + "\n")
        self._log.flush()
        os.fsync(self._log.fileno())
        self.records.extend(records)
        self._dirty = True

    # -- persisting -----------------------------------------------------------------------

    def flush(self, graph: ExplorationGraph | None = None, summary: dict[str, Any] | None = None) -> None:
        """Replace screenspot.json (when records changed) and graph.json atomically."""
        if self._dirty:
            # grouped by image: a scorer that caches one parsed image at a time parses each once
            ordered = sorted(self.records, key=lambda r: r["img_filename"])
            atomic_write(self.out / SET_FILE, json.dumps(ordered, indent=1, ensure_ascii=False).encode())
            self._dirty = False
        if graph is not None:
            doc = {"meta": self.meta, "summary": summary or {}, **graph.to_json()}
            atomic_write(self.out / GRAPH_FILE, json.dumps(doc, indent=1, ensure_ascii=False).encode())

    def close(self, graph: ExplorationGraph | None = None, summary: dict[str, Any] | None = None) -> None:
        if self._log is None:
            return
        self.flush(graph, summary)
        self._log.close()
        self._log = None


def load_records(out: Path) -> list[dict[str, Any]]:
    """The records of an exploration folder: screenspot.json, else (a run killed before its
    first flush) the intact lines of screenspot.jsonl."""
    out = Path(out)
    if (out / SET_FILE).exists():
        return json.loads((out / SET_FILE).read_text(encoding="utf-8"))
    records = []
    if (out / LOG_FILE).exists():
        for line in (out / LOG_FILE).read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a torn last line
    return records


def element_of(d: dict[str, Any]) -> Element:
    """An element back from a screens/<id>.json entry (the inverse of what `add_screen` writes)."""
    from guiagent.schema import Role

    extras = {k: d[k] for k in ("package", "resource_id", "click_target", "description") if d.get(k) is not None}
    try:
        return Element(id=str(d["id"]), role=Role(d.get("role", "other")), name=d.get("name") or "",
                       value=d.get("value"), bbox=tuple(d["bbox"]), enabled=d.get("enabled", True),
                       checked=d.get("checked"), editable=bool(d.get("editable")),
                       clickable=bool(d.get("clickable")), source=d.get("source", "a11y"), extras=extras)
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"bad element in a screens file: {d!r}: {exc}") from exc


def load_screen_file(path: Path) -> tuple[dict[str, Any], list[Element]]:
    """A screens/<id>.json document and its elements."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return doc, [element_of(e) for e in doc["elements"]]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read the screen file {path}: {exc}") from exc


def load_screen(out: Path, screen: str) -> tuple[list[Element], tuple[int, int]] | None:
    """The elements and size of screen `screen` of an exploration folder (None when not written)."""
    path = Path(out) / "screens" / f"{screen}.json"
    if not path.exists():
        return None
    doc, elements = load_screen_file(path)
    return elements, (int(doc["size"][0]), int(doc["size"][1]))
