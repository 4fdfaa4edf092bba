"""Builds an icon memory (`grounding.icon_memory`) from what `guiagent explore` collected.

An exploration folder holds each screen's frame (images/) and its elements (screens/*.json,
with the a11y name, description and box) and the records learned from transitions (kind
"function": what acting on an element led to). Every small, squarish a11y control with a name
or a description is an icon candidate: its drawn pixels are cropped from the frame and kept
under its name, with its description (the tooltip) and its learned functions as synonyms.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from grounding.icon_memory import IconMemory, base_name, trim_icon
from guiagent.explore.collector import load_records
from guiagent.explore.graph import normalize_name
from guiagent.schema.errors import ConfigError

log = logging.getLogger(__name__)

ICON_ROLES = frozenset({"button", "icon", "image", "checkbox", "switch", "radio", "toggle"})
MIN_SIDE, MAX_SIDE = 8, 72  # pixels: a toolbar or title-bar icon, not a text button or a panel
MAX_NAME = 40
EFFECT_NAMES = 3  # names listed per effect ("hides Next, Previous, Match Case")
_TAGS = re.compile(r"<[^>]+>")


@dataclass
class IconBuildReport:
    screens: int = 0
    candidates: int = 0
    crops: int = 0
    names: dict[str, int] = field(default_factory=dict)  # entry name -> crops kept
    out: Path | None = None


def is_icon_box(bbox: list[int] | tuple[int, ...]) -> bool:
    w, h = bbox[2] - bbox[0], bbox[3] - bbox[1]
    return MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE and 0.5 <= w / h <= 2.0


def _functions(folder: Path) -> dict[tuple[str, str], list[str]]:
    """(screen, element id) -> what exploration learned acting on it does."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in load_records(folder):
        if r.get("kind") == "function" and r.get("screen") and r.get("element"):
            out[(str(r["screen"]), str(r["element"]))].append(str(r["instruction"]))
    return out


def _plain(text: Any) -> str:
    """One line of plain text (Qt tooltips are often rich text: `<p style=...>...</p>`)."""
    return " ".join(_TAGS.sub(" ", html.unescape(str(text or ""))).split())


def icon_candidates(el: dict[str, Any], learned: list[str]) -> tuple[str, list[str]] | None:
    """(name, synonyms) of a screens/*.json element that may be an icon, else None. An a11y
    node is named by its name or tooltip; a control seen only in pixels (Tk, no tree) by what
    clicking it was `learned` to do ("go to Preferences")."""
    if el.get("role") not in ICON_ROLES or not is_icon_box(el.get("bbox") or [0] * 4):
        return None
    if el.get("source") != "a11y":
        return (learned[0], learned[1:]) if learned and not _plain(el.get("name")) else None
    name, desc = _plain(el.get("name")), _plain(el.get("description"))
    if not name and not desc:
        return None
    label = base_name(name or desc)
    if len(label) > MAX_NAME:  # a whole tooltip: its first clause names the icon
        label = re.split(r"[.(:;]", label, maxsplit=1)[0].strip()[:MAX_NAME]
    return label, [s for s in (name, desc) if s and s != label] + learned


def _names(elements: list[dict[str, Any]]) -> dict[str, str]:
    """Normalized -> shown name of every named element of a screen (its name, else its tooltip)."""
    out = {}
    for el in elements:
        shown = base_name(_plain(el.get("name")) or _plain(el.get("description")))
        if shown and len(shown) <= MAX_NAME and el.get("role") not in ("container", "other", "window"):
            out[normalize_name(shown)] = shown
    return out


def _effects(folder: Path, docs: dict[str, dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    """(screen, action key) -> what clicking did, as seen: "opens <title>", "shows X, Y", "hides Z"."""
    graph_file = folder / "graph.json"
    if not graph_file.is_file():
        return {}
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for edge in json.loads(graph_file.read_text(encoding="utf-8")).get("edges", []):
        src = docs.get(str(edge.get("source")))
        for dest_id in edge.get("dests", {}):
            dest = docs.get(dest_id)
            if src is None or dest is None or dest_id == edge.get("source"):
                continue
            said = []
            if dest.get("title") and dest.get("title") != src.get("title"):
                said.append(f"opens {dest['title']}")
            before, after = _names(src.get("elements", [])), _names(dest.get("elements", []))
            for verb, names in (("shows", [after[k] for k in after if k not in before]),
                                ("hides", [before[k] for k in before if k not in after])):
                if names:
                    said.append(f"{verb} {', '.join(sorted(names)[:EFFECT_NAMES])}")
            out[(str(edge["source"]), str(edge["action"]))].extend(said)
    return out


def _action_key(el: dict[str, Any], name: str) -> str:
    """The explorer's key for clicking `el` (guiagent.explore.actions: click:<role>:<name>)."""
    return f"click:{el.get('role')}:{normalize_name(name)}"


def add_folder(memory: IconMemory, folder: Path, report: IconBuildReport,
               on_screen: Callable[[], None] | None = None) -> None:
    screens = sorted((folder / "screens").glob("*.json"))
    if not screens:
        raise ConfigError(f"{folder} holds no explored screens (screens/*.json); run `guiagent explore` first")
    functions = _functions(folder)
    docs = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in screens}
    effects = _effects(folder, docs)
    for path in screens:
        doc = docs[path.stem]
        image_path = folder / "images" / str(doc.get("image", ""))
        if not image_path.is_file():
            continue
        with Image.open(image_path) as img:
            frame = img.convert("RGB")
        report.screens += 1
        screen = str(doc.get("screen"))
        for el in doc.get("elements", []):
            learned = (functions.get((screen, str(el.get("id"))), [])
                       + effects.get((screen, _action_key(el, _plain(el.get("name")))), []))
            named = icon_candidates(el, learned)
            if named is None:
                continue
            report.candidates += 1
            crop = trim_icon(frame, tuple(el["bbox"]))
            if crop is None:
                continue
            name, synonyms = named
            if memory.add(name, crop, synonyms):
                report.crops += 1
        if on_screen is not None:
            on_screen()


def count_screens(folders: Iterable[Path]) -> int:
    return sum(len(list((Path(f) / "screens").glob("*.json"))) for f in folders)


def build_icon_memory(folders: Iterable[Path], out: Path, *, on_screen: Callable[[], None] | None = None,
                      base: Path | None = None) -> IconBuildReport:
    """Crops the named icons of every explored screen of `folders` into a memory saved at `out`
    (added to the memory at `base` when given)."""
    memory = IconMemory.load(base, use_semantic=False) if base is not None else IconMemory(use_semantic=False)
    report = IconBuildReport()
    for folder in folders:
        add_folder(memory, Path(folder), report, on_screen)
    if not memory.entries:
        raise ConfigError(f"no named icons found in {', '.join(str(f) for f in folders)}: the icons need "
                          "an a11y name or description while exploring")
    report.out = memory.save(out)
    report.names = {e.name: len(e.crops) for e in memory.entries}
    return report
