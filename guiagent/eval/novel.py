"""NovelScreenSpot-style measurement: grounding on held-out screens of an environment the
grounder never saw, before and after fine-tuning it on an exploration of that environment.

The held-out file (`assets/novel/<env>.json`) is written by hand and committed before any
training: screens (their a11y elements and frame, as exploration captured them, beside the file
in `<env>/`), and per target an instruction, its kind (literal | functional | positional | icon)
and the target element's id. Training uses an exploration of the same environment minus every
screen that is, or nearly is, a held-out screen (`screen_signature`, Jaccard >= `NEAR`, or the
same title): no held-out screen is ever trained on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from guiagent.eval.grounding_eval import point_in_box
from guiagent.explore.collector import load_screen_file
from guiagent.explore.graph import is_chrome
from guiagent.schema import Element, Observation
from guiagent.schema.errors import ConfigError, GroundingError, GuiAgentError

KINDS = ("literal", "functional", "positional", "icon")
NEAR = 0.6  # screens sharing this share of their (role, name) pairs are near-duplicates


@dataclass(frozen=True)
class HeldOut:
    screen: str
    instruction: str
    kind: str
    target: Element
    bbox: list[int]  # [x, y, w, h]


@dataclass(frozen=True)
class NovelSet:
    env: str
    items: list[HeldOut]
    observations: dict[str, Observation]
    titles: dict[str, str]
    signatures: dict[str, frozenset[tuple[str, str]]]


def screen_signature(elements: Sequence[Element]) -> frozenset[tuple[str, str]]:
    """What a screen is made of, without system chrome and typed values."""
    return frozenset((e.role.value, " ".join(e.name.casefold().split())) for e in elements
                     if not is_chrome(e) and e.name)


def jaccard(a: frozenset[Any], b: frozenset[Any]) -> float:
    return len(a & b) / max(1, len(a | b))


def load_novel(path: Path) -> NovelSet:
    """The held-out set at `path` (assets/novel/<env>.json) with its screens from `<env>/`."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the held-out set {path}: {exc}") from exc
    folder = Path(path).with_suffix("")
    observations: dict[str, Observation] = {}
    titles: dict[str, str] = {}
    signatures: dict[str, frozenset[tuple[str, str]]] = {}
    for name in doc.get("screens", []):
        meta, elements = load_screen_file(folder / f"{name}.json")
        img = Image.open(folder / str(meta["image"])).convert("RGB")
        observations[name] = Observation(screenshot=img, elements=tuple(elements), screen_size=img.size,
                                         foreground=meta.get("foreground"))
        titles[name] = str(meta.get("title") or "")
        signatures[name] = screen_signature(elements)
    items = []
    for i, it in enumerate(doc.get("items", [])):
        obs = observations.get(it.get("screen"))
        if obs is None or it.get("kind") not in KINDS:
            raise ConfigError(f"{path}: item {i} names an unknown screen or kind: {it}")
        target = obs.element(str(it["target"]))
        if target is None:
            raise ConfigError(f"{path}: item {i}: no element {it['target']!r} on screen {it['screen']}")
        x0, y0, x1, y1 = target.bbox
        items.append(HeldOut(it["screen"], it["instruction"], it["kind"], target, [x0, y0, x1 - x0, y1 - y0]))
    if not items:
        raise ConfigError(f"{path}: no held-out items")
    return NovelSet(str(doc.get("env") or ""), items, observations, titles, signatures)


def training_screens(explore_dir: Path, held: NovelSet) -> tuple[set[str], set[str]]:
    """(kept, excluded) screen ids of an exploration: excluded when the same title or a
    near-duplicate signature of a held-out screen."""
    kept: set[str] = set()
    excluded: set[str] = set()
    for f in sorted((Path(explore_dir) / "screens").glob("*.json")):
        meta, elements = load_screen_file(f)
        sig = screen_signature(elements)
        title = str(meta.get("title") or "")
        near = any((title and title == t) or jaccard(sig, s) >= NEAR
                   for t, s in zip(held.titles.values(), held.signatures.values(), strict=True))
        (excluded if near else kept).add(str(meta["screen"]))
    return kept, excluded


def score_novel(held: NovelSet, grounder: Any,
                on_item: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Ground every held-out instruction on its screen; a hit when the point is in the target box."""
    rows = []
    for it in held.items:
        obs = held.observations[it.screen]
        row: dict[str, Any] = {"screen": it.screen, "instruction": it.instruction, "kind": it.kind,
                               "bbox": it.bbox, "target": it.target.label}
        try:
            res = grounder.ground(it.instruction, obs)
            px, py = res.point.x * obs.screen_size[0], res.point.y * obs.screen_size[1]
            row.update(point=[round(px, 1), round(py, 1)], hit=point_in_box(px, py, it.bbox), method=res.method,
                       picked=res.element.label if res.element is not None else None)
        except GroundingError as exc:
            row.update(point=None, hit=False, error=str(exc))
        except GuiAgentError as exc:
            row.update(point=None, hit=False, error=f"{type(exc).__name__}: {exc}")
        rows.append(row)
        if on_item is not None:
            on_item(row)
    return rows


def by_kind(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accuracy per instruction kind and overall."""
    out = {}
    for kind in (*KINDS, "all"):
        sel = [r for r in rows if kind == "all" or r["kind"] == kind]
        hits = sum(1 for r in sel if r["hit"])
        out[kind] = {"n": len(sel), "hits": hits, "accuracy": round(hits / len(sel), 4) if sel else None}
    return out
