"""`guiagent eval grounding`: a ScreenSpot-format grounding set built from MiniWoB++ screens,
and the score of any grounder on it (the predicted point must fall inside the target box).

The set: real screenshots of the work area (what the agent sees, `miniwob_env.TaskArea.work`),
one record per target:
    {"img_filename": "click-link-3.png", "instruction": "nam", "bbox": [x, y, w, h],
     "data_type": "text" | "icon", "data_source": "miniwob:click-link"}
The DOM is used only to write the ground truth (boxes and names); grounders see the image and
what the screen parser makes of it. `text` targets are named by their visible text (buttons,
links, tabs, headers); `icon` targets have no text of their own (text fields, checkboxes,
radio buttons, the dialog close button) and are named by their label or position. Texts that
name a control as much as themselves (a field's label, a checkbox's caption) are not targets.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from guiagent.schema.errors import ConfigError, GroundingError, GuiAgentError, ModelError

if TYPE_CHECKING:
    import numpy as np

    from guiagent.eval.miniwob_env import TaskArea

log = logging.getLogger(__name__)

SET_FILE = "miniwob_screenspot.json"
_TEXT_TAGS = {"button", "a", "h3", "label", "span", "t", "input_submit", "input_button"}
_FIELD_TAGS = {"input_text": "text field", "input_password": "text field", "textarea": "text field",
               "input_number": "text field", "input_email": "text field"}
_TOGGLE_TAGS = {"input_checkbox": "checkbox", "input_radio": "radio button"}


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _box(d: dict[str, Any], origin_y: float, scale: float) -> list[int]:
    """CSS box of a DOM element -> [x, y, w, h] in pixels of the work-area image."""
    return [round(d["left"] * scale), round((d["top"] - origin_y) * scale),
            max(1, round(d["width"] * scale)), max(1, round(d["height"] * scale))]


def _visible(d: dict[str, Any], origin_y: float, width: float, height: float) -> bool:
    return (d["width"] > 0 and d["height"] > 0 and d["left"] >= 0 and d["top"] >= origin_y
            and d["left"] + d["width"] <= width + 2 and d["top"] + d["height"] <= height + 2)


def _label_of(field: dict[str, Any], texts: Sequence[dict[str, Any]]) -> str:
    """The text just above a field (overlapping columns) or just left of it on its row."""
    best: tuple[float, str] | None = None
    fx0, fy0, fx1, fy1 = field["left"], field["top"], field["left"] + field["width"], field["top"] + field["height"]
    for t in texts:
        x0, y0, x1, y1 = t["left"], t["top"], t["left"] + t["width"], t["top"] + t["height"]
        above = 0 <= fy0 - y1 <= 12 and x0 < fx1 and x1 > fx0 - 4
        left = 0 <= fx0 - x1 <= 30 and y0 < fy1 and y1 > fy0
        if above or left:
            d = (fy0 - y1) if above else (fx0 - x1)
            if best is None or d < best[0]:
                best = (d, t["text"].strip())
    return best[1] if best else ""


def samples_from_dom(dom: Sequence[dict[str, Any]], origin_y: float, scale: float,
                     size_css: tuple[float, float] = (160, 210)) -> list[dict[str, Any]]:
    """Grounding targets on one screen from its DOM (ground truth only): (instruction, bbox,
    data_type) records without image names. `origin_y` is the CSS y of the work area's top."""
    width, height = size_css
    seen = [d for d in dom if _visible(d, origin_y, width, height)]
    texts = [d for d in seen if d["text"].strip() and d.get("is_leaf", True)]
    counts: dict[str, int] = {}
    for d in texts:
        counts[d["text"].strip().casefold()] = counts.get(d["text"].strip().casefold(), 0) + 1
    fields = sorted((d for d in seen if d["tag"] in _FIELD_TAGS), key=lambda d: (d["top"], d["left"]))
    labels = {_label_of(f, texts) for f in fields}
    out: list[dict[str, Any]] = []
    for d in texts:
        text = " ".join(d["text"].split())
        if d["tag"] not in _TEXT_TAGS or counts[text.casefold()] > 1 or len(text) > 30:
            continue
        if d["text"].strip() in labels:
            continue  # "Username" names the field below it as much as the label: ambiguous
        if d["tag"] == "t":
            continue  # running text is not a target; a checkbox's caption names the box as much as itself
        out.append({"instruction": text, "bbox": _box(d, origin_y, scale), "data_type": "text", "tag": d["tag"]})
    for i, d in enumerate(fields, 1):
        label = _label_of(d, texts)
        name = (f"{label} field" if label and counts.get(label.casefold(), 0) == 1
                else f"the {_ordinal(i)} text field" if len(fields) > 1 else "the text field")
        out.append({"instruction": name, "bbox": _box(d, origin_y, scale), "data_type": "icon", "tag": d["tag"]})
    for d in seen:
        kind = _TOGGLE_TAGS.get(d["tag"])
        if kind is None:
            continue
        siblings = [t for t in texts if t.get("parent") == d.get("parent") and t is not d]
        if len(siblings) == 1 and counts[siblings[0]["text"].strip().casefold()] == 1:
            out.append({"instruction": f"{' '.join(siblings[0]['text'].split())} {kind}",
                        "bbox": _box(d, origin_y, scale), "data_type": "icon", "tag": d["tag"]})
    for d in seen:  # an icon-only button (a dialog's close "x"): its text is hidden off-screen
        if d["tag"] == "button" and not d["text"].strip() and "close" in str(d.get("classes", "")).lower():
            out.append({"instruction": "the close button", "bbox": _box(d, origin_y, scale), "data_type": "icon",
                        "tag": d["tag"]})
    return out


def build_set(tasks: Sequence[str], screens_per_task: int, seed: int, out_dir: Path,
              scale: float = 2.0, on_screen: Callable[[str, int], None] | None = None) -> list[dict[str, Any]]:
    """Open each task in Chromium, capture `screens_per_task` screens of the work area from the
    real display and write the images plus `miniwob_screenspot.json` into `out_dir`."""
    from devices.x11.device import open_desktop
    from guiagent.eval.miniwob_env import MiniWoBTask, area_signature, configure_browser, wait_for_task_area

    configure_browser(scale)
    images = out_dir / "images"
    images.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    screen = open_desktop("", a11y=False)
    try:
        for task in tasks:
            env = MiniWoBTask(task)
            area: TaskArea | None = None
            try:
                for i in range(screens_per_task):
                    before: np.ndarray | None = area_signature(screen.screenshot(), area) if area is not None else None
                    env.reset(seed + i)
                    area, shot = wait_for_task_area(screen.screenshot, cached=area, previous=before)
                    dom = env.dom_elements()
                    # the work area starts where MiniWoB's #area div starts, just below the band
                    div = next((d for d in dom if d.get("id") == "area"), None)
                    origin_y = div["top"] if div else (area.band[3] - area.area[1]) / area.scale
                    name = f"{task}-{seed + i}.png"
                    shot.crop(area.work).save(images / name)
                    for s in samples_from_dom(dom, origin_y, area.scale):
                        records.append({"img_filename": name, **s, "data_source": f"miniwob:{task}"})
                    if on_screen is not None:
                        on_screen(task, i)
            finally:
                env.close()
    finally:
        screen.close()
    (out_dir / SET_FILE).write_text(json.dumps(records, indent=1))
    return records


def load_set(path: Path) -> tuple[list[dict[str, Any]], Path]:
    """Records and the image folder of a ScreenSpot-format set (a JSON file or its folder)."""
    file = path / SET_FILE if path.is_dir() else path
    if not file.exists():
        raise ConfigError(f"no grounding set at {file}")
    try:
        records = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file} is not valid JSON: {exc}") from exc
    if not isinstance(records, list):
        raise ConfigError(f"{file}: expected a list of records")
    for i, r in enumerate(records):
        missing = [k for k in ("img_filename", "instruction", "bbox", "data_type") if k not in r]
        if missing or not isinstance(r.get("bbox"), list) or len(r["bbox"]) != 4:
            raise ConfigError(f"{file}: record {i} needs img_filename, instruction, bbox [x, y, w, h], data_type"
                              f"{' (missing ' + ', '.join(missing) + ')' if missing else ''}")
    folder = file.parent / "images" if (file.parent / "images").is_dir() else file.parent
    return records, folder


def point_in_box(x: float, y: float, bbox: Sequence[float]) -> bool:
    """ScreenSpot's metric: the point lies inside [x, y, w, h] (edges included)."""
    bx, by, bw, bh = bbox
    return bx <= x <= bx + bw and by <= y <= by + bh


def summarize(hits: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy overall, per data_type and per data_source, from per-record results."""
    def acc(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        n = len(rows)
        k = sum(1 for r in rows if r["hit"])
        return {"n": n, "hits": k, "accuracy": round(k / n, 4) if n else None}

    out: dict[str, Any] = {"overall": acc(hits)}
    out["by_type"] = {t: acc([r for r in hits if r["data_type"] == t])
                      for t in sorted({r["data_type"] for r in hits})}
    out["by_source"] = {s: acc([r for r in hits if r.get("data_source") == s])
                        for s in sorted({str(r.get("data_source")) for r in hits})}
    ms = [r["ms"] for r in hits if "ms" in r]
    out["median_ms"] = round(statistics.median(ms), 1) if ms else None
    return out


def score(records: Sequence[dict[str, Any]], images: Path, grounder: Any, parser: Any | None = None,
          on_record: Callable[[dict[str, Any]], None] | None = None,
          max_backend_errors: int = 3) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Ground every record's instruction on its image; a hit when the point is in the box.
    Each image is parsed once (OCR + detectors) into the observation's elements. A refusal
    (GroundingError) is a miss; `max_backend_errors` backend failures in a row end the run."""
    from guiagent.schema import Observation

    cache: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    backend_errors = 0
    for r in records:
        name = r["img_filename"]
        if name not in cache:
            path = images / name
            if not path.exists():
                raise ConfigError(f"image {path} of the grounding set is missing")
            img = Image.open(path).convert("RGB")
            elements = tuple(parser.parse(img, [])) if parser is not None else ()
            cache = {name: Observation(screenshot=img, elements=elements, screen_size=img.size)}
        obs = cache[name]
        t = time.perf_counter()
        row: dict[str, Any] = {k: r[k] for k in ("img_filename", "instruction", "bbox", "data_type")}
        row["data_source"] = r.get("data_source")
        try:
            res = grounder.ground(r["instruction"], obs)
            px, py = res.point.x * obs.screen_size[0], res.point.y * obs.screen_size[1]
            row.update(point=[round(px, 1), round(py, 1)], hit=point_in_box(px, py, r["bbox"]), method=res.method)
            backend_errors = 0
        except GroundingError as exc:
            row.update(point=None, hit=False, error=str(exc))
            backend_errors = 0
        except GuiAgentError as exc:  # a model backend failing on one record is a miss, not a crash
            row.update(point=None, hit=False, error=f"{type(exc).__name__}: {exc}")
            backend_errors += 1
            if backend_errors >= max_backend_errors:  # a dead endpoint: stop instead of retrying 200 times
                raise ModelError(f"the grounder failed on {backend_errors} targets in a row; last: {exc}") from exc
        row["ms"] = round((time.perf_counter() - t) * 1000, 1)
        results.append(row)
        if on_record is not None:
            on_record(row)
    return summarize(results), results
