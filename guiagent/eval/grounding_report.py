"""A self-contained HTML page for a grounding evaluation: the accuracy table, then every target
drawn on its screen (the true box in green, the predicted point red on a miss, green on a hit),
misses first, so a reader sees where the grounder went wrong."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from guiagent.eval.report_html import _CSS

THUMB_W = 260


def thumbnail(img: Image.Image) -> Image.Image:
    """`img` scaled to `THUMB_W` wide (a fresh copy to draw on)."""
    return img.convert("RGB").resize((THUMB_W, max(1, round(img.height * THUMB_W / img.width))))


def draw(img: Image.Image, bbox: Sequence[float], point: Sequence[float] | None, hit: bool,
         thumb: Image.Image | None = None) -> str:
    """The screen with the target box and the predicted point, as an inline PNG data URI
    (`thumb`: `img` already scaled by `thumbnail`, reused across targets of one screen)."""
    scale = THUMB_W / img.width
    thumb = thumbnail(img) if thumb is None else thumb.copy()
    d = ImageDraw.Draw(thumb)
    x, y, w, h = (v * scale for v in bbox)
    d.rectangle((x, y, x + w, y + h), outline=(20, 160, 20), width=3)
    if point is not None:
        px, py = point[0] * scale, point[1] * scale
        color = (20, 160, 20) if hit else (220, 20, 20)
        d.ellipse((px - 6, py - 6, px + 6, py + 6), outline=color, width=3)
        d.line((px - 9, py, px + 9, py), fill=color, width=2)
        d.line((px, py - 9, px, py + 9), fill=color, width=2)
    buf = io.BytesIO()
    thumb.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def render(title: str, table: Mapping[str, Mapping[str, Mapping[str, Any]]],
           runs: Mapping[str, Sequence[dict[str, Any]]], image_of: Callable[[dict[str, Any]], Image.Image],
           notes: Sequence[str] = ()) -> str:
    """`table`: configuration -> kind -> {n, hits, accuracy}; `runs`: configuration -> result rows
    (instruction, kind, bbox, point, hit, ...); `image_of(row)`: the row's screen."""
    e = html.escape
    kinds = list(next(iter(table.values()), {}).keys())
    head = "".join(f"<th>{e(k)}</th>" for k in kinds)
    body = "".join(
        f"<tr><td>{e(cfg)}</td>" + "".join(
            f"<td>{'-' if c['accuracy'] is None else format(c['accuracy'], '.0%')} ({c['hits']}/{c['n']})</td>"
            for c in cells.values()) + "</tr>" for cfg, cells in table.items())
    sections = []
    thumbs: dict[int, tuple[Image.Image, Image.Image]] = {}  # id(screen) -> (screen, its thumbnail)

    def card_image(r: dict[str, Any]) -> str:
        img = image_of(r)
        if id(img) not in thumbs:  # the screen is kept in the pair, so its id is not reused meanwhile
            thumbs[id(img)] = (img, thumbnail(img))
        return draw(img, r["bbox"], r.get("point"), bool(r["hit"]), thumbs[id(img)][1])

    for cfg, rows in runs.items():
        ordered = sorted(rows, key=lambda r: bool(r["hit"]))  # misses first
        cards = []
        for r in ordered:
            src = card_image(r)
            verdict = "<b class='ok'>hit</b>" if r["hit"] else "<b class='bad'>miss</b>"
            why = r.get("error") or f"picked {r.get('picked')!r} ({r.get('method')})"
            cards.append(f"<div class='fail'><img src='{src}' alt='screen'>{verdict} "
                         f"<code>{e(str(r['instruction']))}</code> [{e(str(r.get('kind', r.get('data_type', ''))))}]"
                         f"<div>target: {e(str(r.get('target', r['bbox'])))}; {e(str(why))}</div>"
                         f"<div class='clear'></div></div>")
        misses = sum(1 for r in rows if not r["hit"])
        sections.append(f"<h2>{e(cfg)}: {misses} misses of {len(rows)}</h2>{''.join(cards)}")
    extra = "".join(f"<p>{e(n)}</p>" for n in notes)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>{_CSS}"
            f".fail img{{max-width:{THUMB_W}px}}</style></head><body><h1>{e(title)}</h1>{extra}"
            f"<table><tr><th>grounder</th>{head}</tr>{body}</table>{''.join(sections)}</body></html>")


def write(path: Path, title: str, table: Mapping[str, Mapping[str, Mapping[str, Any]]],
          runs: Mapping[str, Sequence[dict[str, Any]]], image_of: Callable[[dict[str, Any]], Image.Image],
          notes: Sequence[str] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(title, table, runs, image_of, notes), encoding="utf-8")
    return path
