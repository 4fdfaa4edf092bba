"""The MiniWoB++ harness: the task area found from pixels, the score read from the page, the
results aggregated. The episode tests run real Chromium on Xvfb and act through the real
desktop device (mss + XTest input)."""

from __future__ import annotations

import json

import pytest
from PIL import Image, ImageDraw, ImageFont

from guiagent.eval.miniwob import BenchConfig, EpisodeRecord, aggregate, clean_instruction
from guiagent.eval.miniwob_env import TaskArea, band_visible, locate_task_area
from guiagent.eval.report_html import render
from guiagent.schema import Click, Point, Target

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _page(x0: int, y0: int, scale: int = 2, infobar: int = 112) -> Image.Image:
    """A screen like the one MiniWoB shows: an infobar, the grey page, the white task area with
    the yellow instruction band, and the reward panel next to it."""
    img = Image.new("RGB", (1280, 800), (0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rectangle((20, 20, 1259, 20 + infobar), fill=(255, 255, 255))
    d.rectangle((20, 20 + infobar, 1259, 779), fill=(85, 85, 85))
    w, h = 160 * scale, 210 * scale
    d.rectangle((x0, y0, x0 + w - 1, y0 + h - 1), fill=(255, 255, 255))
    d.rectangle((x0, y0, x0 + w - 1, y0 + 50 * scale - 1), fill=(255, 255, 0))
    font = ImageFont.truetype(FONT, 10 * scale)
    d.text((x0 + 6, y0 + 6), 'Click on the "Ok" button.', fill=(0, 0, 0), font=font)
    d.text((x0 + 6, y0 + 30), "a second line of the task", fill=(0, 0, 0), font=font)
    d.rectangle((x0 + 10, y0 + 150, x0 + 80, y0 + 190), outline=(120, 120, 120), fill=(240, 240, 240))
    d.rectangle((x0 + w + 10, y0, x0 + 2 * w + 10, y0 + h - 1), fill=(255, 255, 255))  # reward panel
    return img


@pytest.mark.parametrize(("x0", "y0"), [(20, 132), (300, 200), (20, 76)])
def test_task_area_is_found_from_pixels_wherever_it_is(x0: int, y0: int) -> None:
    area = locate_task_area(_page(x0, y0))
    assert area is not None
    assert area.area == (x0, y0, x0 + 320, y0 + 420)
    assert area.band == (x0, y0, x0 + 320, y0 + 100)
    # the work area runs on below the task area to the end of the page (grey, then the black root)
    assert area.work == (x0, y0 + 100, x0 + 320, 780)
    assert area.scale == 2.0
    assert area.region() == f"{x0},{y0 + 100},320,{680 - y0}"


def test_no_task_area_when_the_band_is_not_showing() -> None:
    img = _page(20, 132)
    ImageDraw.Draw(img).rectangle((20, 132, 339, 551), fill=(17, 17, 17))  # MiniWoB's START cover
    assert locate_task_area(img) is None
    area = locate_task_area(_page(20, 132))
    assert area is not None and band_visible(_page(20, 132), area) and not band_visible(img, area)


def test_task_area_at_scale_one() -> None:
    area = locate_task_area(_page(40, 150, scale=1))
    assert area is not None and area.area == (40, 150, 200, 360) and area.scale == 1.0
    assert area.work == (40, 200, 200, 570)  # the page below: at most one more area's height


def test_instruction_lines_are_joined_and_quotes_made_plain() -> None:
    assert clean_instruction(["Enter “Ada” into", "the  text field."]) == 'Enter "Ada" into the text field.'
    assert clean_instruction([]) == ""


def _rec(task: str, seed: int, ok: bool, steps: int = 2, step_ms: float = 100.0, read: str = "x") -> EpisodeRecord:
    return EpisodeRecord(task=task, seed=seed, success=ok, raw_reward=1.0 if ok else -1.0, reward=0.8 if ok else -1.0,
                         steps=steps, seconds=1.5, reason="" if ok else "page scored -1", instruction=read,
                         utterance="x", actions=["click 'Ok'"],
                         step_timings=[{"capture": 1.0, "parse": 50.0, "step": step_ms}] * steps, instruction_ms=30.0)


def test_results_aggregate_rates_medians_and_failures() -> None:
    records = [_rec("a", 0, True), _rec("a", 1, True, steps=1, step_ms=300.0), _rec("a", 2, False, read="y"),
               _rec("b", 0, True), _rec("b", 1, True)]
    res = aggregate(records, BenchConfig(tasks=("a", "b"), episodes=3))
    a = res["tasks"]["a"]
    assert (a["episodes"], a["successes"], a["success_rate"]) == (3, 2, 0.6667)
    assert a["median_steps"] == 2 and a["median_step_ms"] == 100.0
    assert a["instruction_misread"] == 1
    assert [f["seed"] for f in a["failures"]] == [2] and a["failures"][0]["utterance"] == "x"
    assert res["tasks"]["b"]["success_rate"] == 1.0
    assert res["mean_success"] == pytest.approx((2 / 3 + 1) / 2, abs=1e-4)
    assert res["latency_ms"]["instruction"] == 30.0 and res["latency_ms"]["parse"] == 50.0
    assert res["instruction_source"] == "screen"
    json.dumps(res)  # results.json must serialize
    page = render(res)
    assert "page scored -1" in page and "66.7%" not in page and "83.3%" in page


# -- real Chromium on Xvfb ------------------------------------------------------------------


def _css_to_point(area: TaskArea, dom: list[dict], el: dict, size: tuple[int, int]) -> Point:
    """The centre of a DOM element as a point of the work area (the test's oracle uses the DOM)."""
    origin = next(d for d in dom if d["id"] == "area")["top"]  # the task's div starts below the band
    x = (el["left"] + el["width"] / 2) * area.scale
    y = (el["top"] - origin + el["height"] / 2) * area.scale
    return Point.from_pixels(x, y, size)


def test_harness_scores_a_correct_and_a_wrong_click(browser) -> None:
    from devices.x11.device import open_desktop
    from guiagent.eval.miniwob_env import MiniWoBTask, wait_for_task_area

    env = MiniWoBTask("click-test-2")  # "Click button ONE.": ONE scores 1, TWO scores -1
    screen = open_desktop("", a11y=False)
    try:
        outcomes = []
        for seed, correct in ((1, True), (2, False)):
            obs = env.reset(seed)
            area, _ = wait_for_task_area(screen.screenshot, timeout=10)
            assert obs["utterance"] == "Click button ONE."
            dom = env.dom_elements()
            buttons = [d for d in dom if d["tag"] == "button"]
            target = next(d for d in buttons if (d["text"].strip() == "ONE") == correct)
            device = open_desktop("", region=area.region(), a11y=False)
            try:
                assert env.outcome().done is False
                device.execute(Click(target=Target(point=_css_to_point(area, dom, target, device.info.screen_size))))
            finally:
                device.close()
            outcomes.append(env.wait_outcome(3.0))
        right, wrong = outcomes
        assert right.done and right.raw_reward == 1.0 and right.success and 0 < right.reward <= 1
        assert wrong.done and wrong.raw_reward == -1.0 and not wrong.success
    finally:
        screen.close()
        env.close()


def test_the_episode_clock_is_read_from_the_task_page(browser) -> None:
    from guiagent.eval.miniwob_env import MiniWoBTask

    env = MiniWoBTask("use-slider-2")  # sets core.EPISODE_MAX_TIME = 20000 over core.js's 10 s default
    try:
        env.reset(100)
        assert env.clock_seconds() == 20.0  # the agent's budget is this plus 2 s (BenchConfig.max_seconds)
    finally:
        env.close()


def test_bench_runs_the_agent_from_the_screen(browser, tmp_path) -> None:
    """The whole agent on real episodes: the task text is read from the screen by OCR, and every
    step carries the latency breakdown."""
    from guiagent.eval.miniwob import MiniWoBBench

    seen: list[EpisodeRecord] = []
    bench = MiniWoBBench(BenchConfig(tasks=("click-test-2",), episodes=2, seed=3, frames_dir=tmp_path),
                         on_episode=seen.append)
    try:
        res = bench.run()
    finally:
        bench.close()
    assert [r.seed for r in seen] == [3, 4]
    for r in seen:
        assert r.instruction == r.utterance == "Click button ONE."
        assert not r.reason.startswith("harness:"), r.reason
        assert r.steps >= 1 and r.step_timings and {"capture", "parse", "decide", "act", "step"} <= set(r.step_timings[0])
        assert r.success == (r.raw_reward > 0)
    t = res["tasks"]["click-test-2"]
    assert t["episodes"] == 2 and t["successes"] == sum(r.success for r in seen)
    assert {"instruction", "capture", "ocr", "parse", "decide", "ground", "act", "settle", "step"} <= set(res["latency_ms"])


def test_grounding_set_boxes_land_on_the_widgets_on_screen(browser, tmp_path) -> None:
    """DOM ground truth mapped onto the captured screen: each button box frames a grey button."""
    import numpy as np

    from guiagent.eval.grounding_eval import build_set, load_set

    records = build_set(["click-test-2"], 1, 5, tmp_path)
    loaded, images = load_set(tmp_path)
    assert loaded == records and {r["instruction"] for r in records} == {"ONE", "TWO"}
    for r in records:
        img = np.asarray(Image.open(images / r["img_filename"]).convert("L"), dtype=np.int16)
        x, y, w, h = r["bbox"]
        assert min(x, y) >= 0 and x + w <= img.shape[1] and y + h <= img.shape[0]
        inner = img[y + h // 4: y + 3 * h // 4, x + w // 8: x + w // 5]  # button face, left of the label
        assert 200 < inner.mean() < 250  # light grey face, not the white page
        outside = img[max(0, y - 6): y - 2, x: x + w] if y >= 6 else img[y + h + 2: y + h + 6, x: x + w]
        assert outside.size == 0 or outside.mean() > 250  # white page just outside the box


def _line(text: str, font_px: int = 20) -> tuple[Image.Image, tuple[tuple[int, int], ...], tuple[int, int, int, int]]:
    """Black text on MiniWoB's yellow, with each non-space character's x-span (what OCR reports)."""
    font = ImageFont.truetype(FONT, font_px)
    img = Image.new("RGB", (20 + int(font.getlength(text)) + 20, font_px * 2), (255, 255, 0))
    ImageDraw.Draw(img).text((20, font_px // 2), text, fill=(0, 0, 0), font=font)
    spans = []
    for i, ch in enumerate(text):
        if not ch.isspace():
            a = 20 + int(font.getlength(text[:i]))
            spans.append((a, 20 + int(font.getlength(text[: i + 1]))))
    return img, tuple(spans), (18, 2, img.width - 18, img.height - 2)


def test_case_of_same_shape_letters_is_decided_by_glyph_height() -> None:
    from grounding.ocr import OcrBox
    from guiagent.eval.miniwob import repair_case

    img, spans, box = _line('Enter the SUS vox "fU" now')
    misread = OcrBox('enter the sus VOX "fu" now', box, 0.9, spans)  # what a case-blind reader says
    assert repair_case([misread], img) == ['enter the SUS vox "fU" now']
    unmatched = OcrBox("enter the sus", box, 0.9, spans[:3])  # characters and glyphs do not line up
    assert repair_case([unmatched], img) == ["enter the sus"]


def test_instruction_is_read_from_the_band_by_ocr() -> None:
    from grounding.ocr import OcrEngine
    from guiagent.eval.miniwob import InstructionReader

    img, _, _ = _line('Enter the password "fU" into both')
    assert InstructionReader(OcrEngine(upscale_below=0)).read(img) == 'Enter the password "fU" into both'


def test_cli_registers_the_two_suites() -> None:
    import argparse

    from guiagent.cli import Cli, eval_miniwob

    parser = argparse.ArgumentParser(prog="guiagent")
    commands = parser.add_subparsers(dest="command", required=True)
    ev = commands.add_parser("eval").add_subparsers(dest="eval", required=True)
    eval_miniwob.register(Cli(parser, commands, None, ev, None))  # type: ignore[arg-type]
    args = parser.parse_args(["eval", "miniwob", "--tasks", "click-test,enter-text", "--episodes", "3",
                              "--utterance-from-obs"])
    assert args.func is eval_miniwob.cmd_miniwob and args.episodes == 3 and args.utterance_from_obs
    assert eval_miniwob._tasks(args.tasks) == ("click-test", "enter-text")
    args = parser.parse_args(["eval", "grounding", "--grounder", "text", "--screens", "2"])
    assert args.func is eval_miniwob.cmd_grounding and args.screens == 2
    from guiagent.schema.errors import ConfigError

    with pytest.raises(ConfigError, match="episodes"):
        eval_miniwob.cmd_miniwob(parser.parse_args(["eval", "miniwob", "--episodes", "0"]))


def test_an_unknown_task_is_scored_as_a_harness_failure(browser) -> None:
    from guiagent.eval.miniwob import MiniWoBBench

    seen: list[EpisodeRecord] = []
    bench = MiniWoBBench(BenchConfig(tasks=("no-such-task",), episodes=2), on_episode=seen.append)
    try:
        res = bench.run()
    finally:
        bench.close()
    assert [r.success for r in seen] == [False, False]
    assert all(r.reason.startswith("harness: unknown MiniWoB task") for r in seen)
    assert res["tasks"]["no-such-task"]["success_rate"] == 0.0


def test_task_lists_are_named_and_the_expanded_list_is_apart_from_dev() -> None:
    from guiagent.cli.eval_miniwob import _tasks
    from guiagent.eval.miniwob_tasks import DEV_TASKS, EXPANDED_TASKS, FRONTIER_TASKS, HELDOUT_TASKS

    assert len(EXPANDED_TASKS) >= 30 and not set(EXPANDED_TASKS) & set(DEV_TASKS)
    assert not set(HELDOUT_TASKS) & set(DEV_TASKS + EXPANDED_TASKS) and _tasks("heldout") == HELDOUT_TASKS
    assert not set(FRONTIER_TASKS) & set(DEV_TASKS + EXPANDED_TASKS + HELDOUT_TASKS)
    assert _tasks("frontier") == FRONTIER_TASKS
    assert _tasks("expanded") == EXPANDED_TASKS and _tasks(None) == DEV_TASKS
    assert _tasks("dev,click-menu") == (*DEV_TASKS, "click-menu")


def test_expanded_smoke_popup_and_symbols_end_honestly(browser) -> None:
    """A few tasks of the expanded list end to end: a popup that interrupts the login is
    dismissed (Cancel, never OK), symbol-only labels are grounded; whatever the outcome, the
    agent never claims success on an episode the page did not score as one."""
    from guiagent.eval.miniwob import MiniWoBBench

    seen: list[EpisodeRecord] = []
    bench = MiniWoBBench(BenchConfig(tasks=("login-user-popup", "unicode-test"), episodes=2, seed=7),
                         on_episode=seen.append)
    try:
        bench.run()
    finally:
        bench.close()
    assert len(seen) == 4
    for r in seen:
        assert not r.reason.startswith("harness:") and "can't parse" not in r.reason, r.reason
        assert "agent success" not in r.reason, r.reason  # a success the page did not confirm
        assert not any("'OK'" in a and "popup" in a for a in r.actions)
