"""Icons named by what they depict (grounding.icon_names) and list items as bands between
horizontal rules (grounding.items): icons drawn here with PIL in another style than the theme
references (outlines, other proportions, three sizes, colours), and MiniWoB's flaticon PNGs."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from grounding.icon_names import best_icon, concepts_for, icon_candidates, references
from grounding.items import band_at, horizontal_rules

pytestmark = pytest.mark.skipif(not references("trash"), reason="no Adwaita icon theme on this machine")

Draw = Callable[[ImageDraw.ImageDraw, float, float, float, str], None]


def star(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: str) -> None:
    pts = [(cx + (r if i % 2 == 0 else r * 0.45) * math.sin(i * math.pi / 5),
            cy - (r if i % 2 == 0 else r * 0.45) * math.cos(i * math.pi / 5)) for i in range(10)]
    d.polygon(pts, outline=c, width=3)


def heart(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: str) -> None:
    d.ellipse((cx - r, cy - r * 0.7, cx, cy + r * 0.1), fill=c)
    d.ellipse((cx, cy - r * 0.7, cx + r, cy + r * 0.1), fill=c)
    d.polygon([(cx - r + 1, cy - r * 0.1), (cx + r - 1, cy - r * 0.1), (cx, cy + r)], fill=c)


def trash(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: str) -> None:
    d.rectangle((cx - r * 0.8, cy - r * 0.75, cx + r * 0.8, cy - r * 0.55), fill=c)
    d.rectangle((cx - r * 0.25, cy - r, cx + r * 0.25, cy - r * 0.75), outline=c, width=2)
    d.polygon([(cx - r * 0.65, cy - r * 0.45), (cx + r * 0.65, cy - r * 0.45), (cx + r * 0.5, cy + r),
               (cx - r * 0.5, cy + r)], outline=c, width=3)


def dots(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: str) -> None:
    for k in (-1, 0, 1):
        d.ellipse((cx + k * r * 0.7 - r * 0.22, cy - r * 0.22, cx + k * r * 0.7 + r * 0.22, cy + r * 0.22), fill=c)


DRAW: dict[str, Draw] = {"star": star, "heart": heart, "delete": trash, "more": dots}


def _row(names: list[str], size: int, colour: str) -> tuple[Image.Image, list[float]]:
    img = Image.new("RGB", (60 + 4 * size * len(names), 4 * size), "white")
    d = ImageDraw.Draw(img)
    xs = [40.0 + i * 4 * size for i in range(len(names))]
    for name, x in zip(names, xs, strict=True):
        DRAW[name](d, x, 2 * size, size, colour)
    return img, xs


def test_words_map_to_concepts() -> None:
    assert concepts_for("the trash icon") == ("trash",)
    assert concepts_for("Retweet") == ("repeat",)
    assert set(concepts_for("favourite")) == {"star", "heart"}
    assert concepts_for("Copy link to Tweet") == ()


@pytest.mark.parametrize("size", [12, 18, 28])
@pytest.mark.parametrize(("names", "colour"), [(["star", "delete", "more"], "#333"),
                                               (["more", "heart", "star"], "#1d9bf0"),
                                               (["delete", "star", "more"], "#888")])
def test_drawn_icons_are_told_apart_within_their_row(names: list[str], colour: str, size: int) -> None:
    img, xs = _row(names, size, colour)
    found = icon_candidates(img, (0, 0, img.width, img.height))
    assert len(found) == len(names)  # the three dots are one icon, the bin and its lid one
    for name, x in zip(names, xs, strict=True):
        box = best_icon(img, found, name)
        assert box is not None and box[0] <= x <= box[2], name


def test_a_word_with_no_icon_among_the_candidates_is_not_forced_onto_one() -> None:
    img, _ = _row(["star", "star"], 18, "#333")  # two of a kind: no clear winner for anything
    assert best_icon(img, icon_candidates(img, (0, 0, img.width, img.height)), "star") is None
    assert best_icon(img, icon_candidates(img, (0, 0, img.width, img.height)), "frobnicate") is None


def _miniwob_icons() -> Path | None:
    try:
        import miniwob
    except ImportError:
        return None
    return Path(miniwob.__file__).parent / "html" / "common" / "special"


@pytest.mark.parametrize(("folder", "files", "words"), [
    ("social-media", ["reply", "retweet", "like", "share"], ["reply", "retweet", "like", "share"]),
    ("social-media", ["reply", "retweet", "like", "more"], ["reply", "retweet", "like", "more"]),
    ("email-inbox", ["star", "delete"], ["star", "trash"]),
])
def test_miniwob_flaticons_as_pixels(folder: str, files: list[str], words: list[str]) -> None:
    root = _miniwob_icons()
    if root is None:
        pytest.skip("miniwob is not installed")
    icons = [Image.open(root / folder / f"{f}.png").convert("RGBA") for f in files]
    h = max(i.height for i in icons) // 2 + 20
    row = Image.new("RGB", (sum(i.width // 2 + 40 for i in icons) + 20, h), "white")
    xs, x = [], 20
    for icon in icons:  # drawn at half size, as a page shows them
        small = icon.resize((icon.width // 2, icon.height // 2), Image.Resampling.LANCZOS)
        row.paste(small, (x, 10), small)
        xs.append(x + small.width / 2)
        x += small.width + 40
    found = icon_candidates(row, (0, 0, row.width, row.height))
    for word, cx in zip(words, xs, strict=True):
        box = best_icon(row, found, word)
        assert box is not None and box[0] <= cx <= box[2], word


def test_items_are_the_bands_between_horizontal_rules() -> None:
    img = Image.new("RGB", (300, 400), "white")
    d = ImageDraw.Draw(img)
    for y in (100, 200, 300):
        d.line((0, y, 299, y), fill="#ccc", width=2)
    d.text((10, 150), "Bob", fill="black")
    rules = horizontal_rules(img)
    assert [abs(r - y) <= 2 for r, y in zip(rules, (100, 200, 300), strict=True)] == [True] * 3
    band = band_at(rules, 155, img.height)
    assert (band.top, band.closed_top, band.closed_bottom) == (rules[0], True, True) and band.bottom == rules[1]
    assert band_at(rules, 350, img.height).closed_bottom is False
