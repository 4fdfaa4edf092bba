"""Icons learned by exploration, found again from pixels alone.

FeatherPad (Qt, Debian) has a toolbar of icon-only buttons that only AT-SPI names. The real
explorer walks it with the a11y tree, `guiagent train icons` crops the named icons into a memory,
and then, with the a11y tree removed (the grounder sees the screenshot and what OCR and the pixel
detectors make of it), "the Find button" is grounded before (nothing to read: missed) and after
(the memory), with the window moved, resized and edited (Save and Undo enabled: they were grey
while exploring) and again drawn at 1.5x (QT_SCALE_FACTOR). The app itself confirms the result:
clicking the Save icon found from pixels writes the typed text to the file.

The synthetic tests at the end check the matcher itself without a display.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from waiting import wait_until

from grounding.icon_memory import IconMemory, base_name, trim_icon
from grounding.text_matcher import TextGrounder
from guiagent.schema import Element, Observation
from guiagent.schema.errors import ConfigError, GroundingError

needs_featherpad = pytest.mark.skipif(shutil.which("featherpad") is None or shutil.which("xdotool") is None,
                                      reason="featherpad or xdotool is not installed (scripts/install-sysdeps.sh)")
TYPED = "icons from pixels"


def xdo(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)


def launch(folder: Path, scale: float | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    """FeatherPad on a file of its own, with a throwaway HOME."""
    folder.mkdir(parents=True)
    doc = folder / "doc.txt"
    doc.write_text("hello\n")
    env = {k: v for k, v in os.environ.items() if k != "NO_AT_BRIDGE"}
    env.update(QT_ACCESSIBILITY="1", QT_QPA_PLATFORM="xcb", HOME=str(folder), XDG_CONFIG_HOME=str(folder / ".config"))
    if scale is not None:
        env["QT_SCALE_FACTOR"] = str(scale)
    proc = subprocess.Popen(["featherpad", str(doc)], env=env, cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, doc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def toolbar_ready(dev: Any) -> bool:
    return any(e.name == "New" and e.source == "a11y" for e in dev.ui_tree())


@pytest.fixture(scope="module")
def desktop(xdisplay: Any) -> Iterator[Any]:
    from devices.x11.device import open_desktop
    from guiagent.recorder.a11y_bus import A11yBus

    if not A11yBus.available():
        pytest.skip("AT-SPI is not installed (scripts/install-sysdeps.sh)")
    with A11yBus():
        dev = open_desktop("")
        # one walk before any app starts: it activates the AT-SPI registry and waits for it. A Qt app
        # started before the registry answers never registers (seen 1 start in ~8: window up, tree empty)
        dev.ui_tree()
        try:
            yield dev
        finally:
            dev.close()


@pytest.fixture(scope="module")
def memory_dir(desktop: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Explore FeatherPad with its a11y tree, then build the icon memory with the CLI."""
    from guiagent.explore.collector import GroundingCollector
    from guiagent.explore.run import ExploreConfig, explore

    work = tmp_path_factory.mktemp("icons")
    proc, _ = launch(work / "explored")
    try:
        wait_until(lambda: toolbar_ready(desktop), timeout=60, what="FeatherPad's toolbar in the a11y tree")
        collector = GroundingCollector(work / "explore", "explore:desktop")
        result = explore(desktop, ExploreConfig(steps=4, max_seconds=60, perception="tree"), collector=collector)
        collector.close()
        assert result.screens >= 1
    finally:
        stop(proc)
    out = subprocess.run([sys.executable, "-m", "guiagent", "train", "icons", "--data", str(work / "explore"),
                          "--out", str(work / "icons")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "train icons" in out.stdout and "Find" in out.stdout  # the summary table
    return work / "icons"


def icon_targets(tree: list[Element], scale: float = 1.0) -> dict[str, tuple[int, int, int, int]]:
    """The enabled toolbar and search-bar icons as AT-SPI names them (the answer key only: the
    grounders never see the tree). Qt reports logical coordinates: `scale` maps them to pixels."""
    out = {}
    for e in tree:
        name = base_name(e.name or str(e.extras.get("description") or ""))
        w, h = e.bbox[2] - e.bbox[0], e.bbox[3] - e.bbox[1]
        if e.source == "a11y" and e.enabled and e.role.value in ("button", "checkbox") and name \
                and 8 <= w <= 40 and 8 <= h <= 40:
            left, top, right, bottom = (round(v * scale) for v in e.bbox)
            out[name] = (left, top, right, bottom)
    return out


def pixels_only(img: Image.Image, ocr: bool = True) -> Observation:
    from grounding.parse import parse_screen

    return Observation(screenshot=img, elements=tuple(parse_screen(img, (), ocr=ocr)), screen_size=img.size,
                       device_id="x")


def hits(grounder: TextGrounder, obs: Observation, targets: dict[str, tuple[int, int, int, int]]) -> list[str]:
    found = []
    for name, (left, top, right, bottom) in targets.items():
        try:
            x, y = grounder.ground(f"the {name} button", obs).point.to_pixels(obs.screen_size)
        except GroundingError:
            continue
        if left <= x <= right and top <= y <= bottom:
            found.append(name)
    return found


@needs_featherpad
def test_icons_found_from_pixels_in_another_size_and_state(desktop: Any, memory_dir: Path, tmp_path: Path) -> None:
    proc, doc = launch(tmp_path / "later")
    try:
        wait_until(lambda: toolbar_ready(desktop), timeout=60, what="FeatherPad's toolbar")
        for wid in subprocess.run(["xdotool", "search", "--pid", str(proc.pid)], capture_output=True,
                                  text=True, timeout=20).stdout.split():
            xdo("windowmove", wid, "170", "130")
            xdo("windowsize", wid, "900", "560")
        wait_until(lambda: any(e.name == "New" and e.bbox[0] > 150 for e in desktop.ui_tree()), timeout=20,
                   what="the window moved")
        editor = max((e for e in desktop.ui_tree() if e.editable), key=lambda e: e.width * e.height)
        xdo("mousemove", str(editor.center[0]), str(editor.center[1]), "click", "1", "type", "--delay", "20", TYPED)
        wait_until(lambda: any(e.name == "Save" and e.enabled for e in desktop.ui_tree()), timeout=20,
                   what="Save enabled by the edit")
        xdo("mousemove", "1270", "790")  # no hover highlight on any icon
        targets = icon_targets(desktop.ui_tree())
        obs = pixels_only(desktop.screenshot())
        assert {"New", "Open", "Save", "Undo", "Find", "Replace"} <= set(targets), targets

        before = hits(TextGrounder(), obs, targets)
        learned = TextGrounder(icons=str(memory_dir))
        after = hits(learned, obs, targets)
        print(f"icon targets moved+resized+edited: before {len(before)}/{len(targets)}, "
              f"after {len(after)}/{len(targets)}")
        assert len(before) <= 1, before  # nothing to read on an icon
        assert len(after) >= len(targets) - 1, sorted(set(targets) - set(after))
        for absent in ("the Bold button", "the Paste button"):  # not in the memory: refused, no guess
            with pytest.raises(GroundingError):
                learned.ground(absent, obs)

        # the app's own output: the Save icon found from pixels saves the typed text to the file
        x, y = learned.ground("the Save button", obs).point.to_pixels(obs.screen_size)
        xdo("mousemove", str(x), str(y), "click", "1")
        wait_until(lambda: TYPED in doc.read_text(), timeout=20, what="doc.txt saved by the Save icon")
    finally:
        stop(proc)


@needs_featherpad
def test_icons_found_at_hidpi_scale(desktop: Any, memory_dir: Path, tmp_path: Path) -> None:
    proc, _ = launch(tmp_path / "hidpi", scale=1.5)
    try:
        wait_until(lambda: toolbar_ready(desktop), timeout=60, what="FeatherPad's toolbar")
        xdo("mousemove", "1270", "790")
        targets = icon_targets(desktop.ui_tree(), scale=1.5)
        obs = pixels_only(desktop.screenshot(), ocr=False)  # the test above reads the text too; here: the scale
        after = hits(TextGrounder(icons=str(memory_dir)), obs, targets)  # "before" is measured in the test above
        print(f"icon targets at 1.5x: after {len(after)}/{len(targets)}")
        assert len(targets) >= 8 and len(after) >= len(targets) - 1, sorted(set(targets) - set(after))
    finally:
        stop(proc)


# -- the matcher itself (no display) ------------------------------------------------------------

def _icon(kind: str, size: int = 20) -> Image.Image:
    img = Image.new("RGB", (size, size), (239, 239, 239))
    d = ImageDraw.Draw(img)
    s = size / 20
    if kind == "lens":
        d.ellipse((2 * s, 2 * s, 12 * s, 12 * s), outline=(20, 20, 20), width=max(1, round(2 * s)))
        d.line((11 * s, 11 * s, 18 * s, 18 * s), fill=(20, 20, 20), width=max(1, round(3 * s)))
    elif kind == "lens+pen":
        d.ellipse((2 * s, 2 * s, 12 * s, 12 * s), outline=(20, 20, 20), width=max(1, round(2 * s)))
        d.line((11 * s, 11 * s, 18 * s, 18 * s), fill=(20, 20, 20), width=max(1, round(3 * s)))
        d.line((4 * s, 18 * s, 18 * s, 4 * s), fill=(20, 20, 20), width=max(1, round(2 * s)))
    else:  # "page": a dog-eared sheet
        d.polygon([(4 * s, 2 * s), (12 * s, 2 * s), (16 * s, 6 * s), (16 * s, 18 * s), (4 * s, 18 * s)],
                  outline=(20, 20, 20), width=max(1, round(1.5 * s)))
    return img


def _screen(places: dict[str, tuple[int, int]], size: int = 20) -> Image.Image:
    screen = Image.new("RGB", (640, 400), (239, 239, 239))
    ImageDraw.Draw(screen).text((300, 200), "some document text", fill=(0, 0, 0))
    for kind, at in places.items():
        screen.paste(_icon(kind, size), at)
    return screen


def _memory() -> IconMemory:
    screen = _screen({"lens": (40, 10), "lens+pen": (70, 10), "page": (100, 10)})
    memory = IconMemory(use_semantic=False)
    for name, tip, box in (("Find", "Focus/hide search bar", (38, 8, 62, 32)),
                           ("Replace", "Show/hide replacement dock", (68, 8, 92, 32)),
                           ("New", "New tab", (98, 8, 122, 32))):
        crop = trim_icon(screen, box)
        assert crop is not None and crop.width < 24
        memory.add(name, crop, [tip])
    return memory


def test_memory_finds_icons_elsewhere_and_scaled(tmp_path: Path) -> None:
    memory = IconMemory.load(_memory().save(tmp_path / "mem"), use_semantic=False)
    assert [e.name for e in memory.entries] == ["Find", "Replace", "New"]
    moved = _screen({"page": (400, 300), "lens+pen": (200, 50), "lens": (500, 120)})
    for query, at in (("the Find button", (500, 120)), ("Replace", (200, 50)), ("open a new tab", (400, 300)),
                      ("focus/hide search bar", (500, 120))):
        m = memory.find(query, moved)
        assert m is not None and m.scale == 1.0, query
        assert at[0] <= (m.bbox[0] + m.bbox[2]) / 2 <= at[0] + 20 and at[1] <= (m.bbox[1] + m.bbox[3]) / 2 <= at[1] + 20
    hidpi = _screen({"lens": (100, 100), "page": (300, 200)}, size=40)  # drawn at 2x, not resized pixels
    m = memory.find("the Find icon", hidpi)
    assert m is not None and m.scale > 1.0 and 100 <= m.bbox[0] <= 140 and 100 <= m.bbox[1] <= 140


def test_memory_refuses_what_it_does_not_know_or_see() -> None:
    memory = _memory()
    only_lens_pen = _screen({"lens+pen": (200, 50)})
    # the Replace icon contains Find's magnifier: it is Replace's, so Find is refused there
    assert memory.find("the Find button", only_lens_pen) is None
    assert memory.find("Replace", only_lens_pen) is not None
    assert memory.find("the Bold button", only_lens_pen) is None  # no such icon learned
    assert not memory.add("Find", trim_icon(_screen({"lens": (5, 5)}), (3, 3, 27, 27)) or Image.new("RGB", (1, 1)))
    obs = Observation(screenshot=only_lens_pen, elements=(), screen_size=only_lens_pen.size, device_id="x")

    def nothing(description: str, observation: Observation) -> Any:
        raise GroundingError("no text")

    with pytest.raises(GroundingError, match="no text"):
        memory.ground("the New button", obs, nothing)
    assert memory.ground("the Replace button", obs, nothing).method == "icon"


def test_bad_memory_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train icons"):
        IconMemory.load(tmp_path)
    (tmp_path / "icons.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        TextGrounder(icons=str(tmp_path))


def test_exploration_folder_names_icons_by_tooltip_effect_and_function(tmp_path: Path) -> None:
    """The real collector and graph write the folder; the builder names the a11y icon after its
    name and tooltip plus what clicking it did, and a tree-less icon after its learned function."""
    from guiagent.explore.collector import GroundingCollector
    from guiagent.explore.graph import ExplorationGraph, signature_of
    from guiagent.models.icons_build import build_icon_memory
    from guiagent.schema import Role

    find = Element(id="ax1", role=Role.BUTTON, name="Find", bbox=(38, 8, 62, 32), source="a11y",
                   extras={"description": "<p style='white-space:pre'>Focus/hide search bar</p>"})
    gear = Element(id="d1", role=Role.ICON, name="", bbox=(98, 8, 122, 32), source="detector", clickable=True)
    menu = Element(id="ax2", role=Role.MENU_ITEM, name="File", bbox=(0, 40, 30, 60), source="a11y")
    nxt = Element(id="ax3", role=Role.BUTTON, name="", bbox=(300, 380, 320, 398), source="a11y",
                  extras={"description": "Next (F3)"})
    bar = Element(id="ax4", role=Role.TEXT_FIELD, name="Search", bbox=(10, 380, 290, 398), source="a11y",
                  editable=True)
    first = _screen({"lens": (40, 10), "page": (100, 10)})
    second = _screen({"lens": (40, 10), "page": (100, 10)})
    ImageDraw.Draw(second).rectangle((10, 380, 290, 398), outline=(0, 0, 0))
    ImageDraw.Draw(second).line([(304, 385), (310, 393), (316, 385)], fill=(0, 0, 0), width=2)  # Next's chevron
    graph, collector = ExplorationGraph(), GroundingCollector(tmp_path / "explore", "explore:test")
    nodes = []
    for step, (img, els) in enumerate(((first, (find, gear, menu)), (second, (find, gear, menu, nxt, bar)))):
        obs = Observation(screenshot=img, elements=els, screen_size=img.size, device_id="x")
        node, _ = graph.visit(signature_of(obs.elements, img, img.size), step, title="Editor")
        collector.add_screen(node, obs)
        nodes.append(node)
    graph.add_transition(nodes[0].id, "click:button:find", nodes[1].id)
    assert collector.add_function(nodes[0], gear, first.size, "Preferences")
    collector.close(graph)

    report = build_icon_memory([tmp_path / "explore"], tmp_path / "icons")
    memory = IconMemory.load(tmp_path / "icons", use_semantic=False)
    assert set(report.names) == {"Find", "go to Preferences", "Next"}, report.names  # File is text, not an icon
    found = memory.entry("Find")
    assert found is not None and "Focus/hide search bar" in found.synonyms
    assert any(s.startswith("shows") and "Next" in s and "Search" in s for s in found.synonyms), found.synonyms
    elsewhere = _screen({"page": (500, 300), "lens": (200, 200)})
    for query, x in (("the Preferences button", 500), ("show the search bar", 200), ("Find", 200)):
        m = memory.find(query, elsewhere)
        assert m is not None and x <= m.bbox[0] <= x + 20, query
