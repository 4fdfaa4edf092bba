"""The Auto-UI network (tiny T5 + image fusion), its checkpoint round trip through the real
from_pretrained path, training on a tiny AITW export, and the autoui planner running it on a
real rendered screenshot."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps
from tiny_models import build_tiny_t5

from guiagent.cli import Cli
from guiagent.formats.aitw import AitwAction, AitwEpisodeStep, AitwType
from guiagent.models.autoui_text import format_source, format_target, parse_target
from guiagent.models.vision import build_image_encoder
from guiagent.registry import build_planner
from guiagent.schema import Click, Observation, Point, Target
from guiagent.schema.errors import ConfigError, PlanParseError, RecordingError

T = AitwType
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def phone_screen(title: str, color: tuple[int, int, int]) -> Image.Image:
    im = Image.new("RGB", (270, 540), (250, 250, 250))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, 270, 50), fill=color)
    d.text((12, 14), title, fill="white", font=ImageFont.truetype(FONT, 18))
    for i, label in enumerate(("Wi-Fi", "Bluetooth", "Display")):
        d.text((20, 90 + 60 * i), label, fill="black", font=ImageFont.truetype(FONT, 16))
    return im


def tap(y: float, x: float) -> AitwAction:
    return AitwAction(action_type=T.DUAL_POINT, touch_point=(y, x), lift_point=(y, x))


def write_export(folder: Path) -> Path:
    """A tiny AITW export like the recorder writes: JSONL of AitwEpisodeStep, images beside it."""
    (folder / "frames").mkdir(parents=True)
    phone_screen("Settings", (20, 90, 200)).save(folder / "frames" / "0.png")
    phone_screen("Wi-Fi", (20, 140, 60)).save(folder / "frames" / "1.png")
    typed = AitwAction(action_type=T.TYPE, typed_text="home network")
    steps = [
        AitwEpisodeStep(goal="turn on wifi", image="frames/0.png", action=tap(0.18, 0.2),
                        future_plan=[T.DUAL_POINT, T.TYPE, T.PRESS_ENTER]),
        AitwEpisodeStep(goal="turn on wifi", image="frames/1.png", action=typed, previous_actions=[tap(0.18, 0.2)],
                        future_plan=[T.TYPE, T.PRESS_ENTER]),
        AitwEpisodeStep(goal="turn on wifi", image="frames/1.png", action=AitwAction(action_type=T.PRESS_ENTER),
                        previous_actions=[tap(0.18, 0.2), typed], future_plan=[T.PRESS_ENTER]),
    ]
    path = folder / "aitw.jsonl"
    path.write_text("".join(s.model_dump_json() + "\n" for s in steps))
    return path


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_t5(tmp_path_factory.mktemp("t5") / "tiny-t5")


def _cli() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guiagent")
    commands = parser.add_subparsers(dest="command", required=True)
    subs = {n: commands.add_parser(n).add_subparsers(dest=n, required=True) for n in ("bench", "eval", "train")}
    importlib.import_module("guiagent.cli.train").register(Cli(parser, commands, subs["bench"], subs["eval"],
                                                               subs["train"]))
    return parser


def test_chain_of_action_text_round_trip() -> None:
    a = AitwAction(action_type=T.DUAL_POINT, touch_point=(0.8, 0.5), lift_point=(0.2, 0.5))
    target = format_target(a, [T.DUAL_POINT, T.TYPE, T.PRESS_ENTER, T.STATUS_TASK_COMPLETE, T.PRESS_BACK])
    assert target == ('Action Plan: [DUAL_POINT, TYPE, PRESS_ENTER, STATUS_TASK_COMPLETE] ; Action Decision: '
                      '"action_type": "DUAL_POINT", "touch_point": "[0.8000, 0.5000]", '
                      '"lift_point": "[0.2000, 0.5000]", "typed_text": ""')
    plan, back = parse_target(target)
    assert back == a and plan[:2] == [T.DUAL_POINT, T.TYPE]
    quote = AitwAction(action_type=T.TYPE, typed_text='say "hi"; ok')
    assert parse_target(format_target(quote))[1] == quote
    assert parse_target('"action_type": 7')[1].action_type == T.PRESS_ENTER  # numeric ids as in AITW
    src = format_source("goal", [tap(0.1, 0.1)] * 10)
    assert src.count('"action_type"') == 8 and src.endswith("Goal: goal")  # the last 8 actions
    assert format_source("g", []) == "Previous Actions: None Goal: g"
    for bad in ("nothing here", '"action_type": "JUMP"', '"action_type": "DUAL_POINT", "touch_point": "[0.5]"',
                '"action_type": "DUAL_POINT", "touch_point": "[0.5, 0.5]"',
                # an untrained model's half-closed string once crashed the parser (JSONDecodeError)
                '"action_type": "DUAL_POINT", "touch_point": "[0.2500, 0.5000]", "lift_point": "[0.2500'):
        with pytest.raises(PlanParseError):
            parse_target(bad)


def test_image_encoders_are_deterministic_and_pluggable() -> None:
    a, b = phone_screen("Settings", (20, 90, 200)), phone_screen("Wi-Fi", (200, 40, 40))
    enc = build_image_encoder("pixels:grid=8")
    fa = enc.encode(a)
    assert fa.shape == (1, enc.dim) and fa.dtype == np.float32
    assert np.array_equal(fa, enc.encode(a.copy()))
    assert not np.allclose(fa, enc.encode(b))
    patches = build_image_encoder("patches:grid=4")
    assert patches.encode(a).shape == (16, patches.dim)
    for bad in ("pixels:grid=x", "nope", "hf:", "pixels:size=3"):
        with pytest.raises(ConfigError):
            build_image_encoder(bad)


def test_tiny_autoui_saves_reloads_and_runs_through_the_planner(tiny_t5: Path, tmp_path: Path) -> None:
    import torch

    from guiagent.models.autoui_model import AutoUIModel

    model = AutoUIModel.from_t5(tiny_t5, image_encoder="patches:grid=4")
    ckpt = model.save_pretrained(tmp_path / "autoui")
    assert {"config.json", "autoui_config.json", "autoui_fusion.safetensors"} <= {p.name for p in ckpt.iterdir()}
    config = json.loads((ckpt / "autoui_config.json").read_text())
    assert config["image_encoder"] == "patches:grid=4" and config["image_tokens"] == 16

    loaded = AutoUIModel.from_pretrained(ckpt)
    for (k, v), (k2, v2) in zip(model.fusion.state_dict().items(), loaded.fusion.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2)
    assert loaded.fusion.attention.num_heads == 1  # ONE attention head, as in the paper

    screen = phone_screen("Settings", (20, 90, 200))
    text = format_source("turn on wifi", [tap(0.18, 0.2)])
    model.inference_mode()
    gen = loaded.generate(text, screen, max_new_tokens=24)
    assert gen.text == model.generate(text, screen, max_new_tokens=24).text  # same weights, same output
    # the image really reaches the decoder: the fused encoder states depend on the screenshot
    enc = loaded._tokenize([text], 64)
    other = phone_screen("Display", (200, 40, 40))
    with torch.no_grad():
        h1 = loaded.encode(enc["input_ids"], enc["attention_mask"], loaded.image_features([screen]))
        h2 = loaded.encode(enc["input_ids"], enc["attention_mask"], loaded.image_features([other]))
    assert not torch.allclose(h1, h2)

    planner = build_planner("autoui", model_path=str(ckpt), max_tokens=24)
    obs = Observation(screenshot=screen, screen_size=screen.size)
    try:  # random weights: the text is garbage, but it is the model's text, never a crash
        decision = planner.next("turn on wifi", obs, [])
        raw, usage = decision.raw, decision.usage
    except PlanParseError as exc:
        raw, usage = exc.raw, exc.usage
    assert raw == loaded.generate(format_source("turn on wifi", []), screen, max_new_tokens=24).text
    assert usage.calls == 1 and usage.prompt_tokens > 5 and usage.completion_tokens > 0


def test_one_training_step_lowers_the_loss_and_saves_a_loadable_checkpoint(tiny_t5: Path, tmp_path: Path) -> None:
    import torch

    from guiagent.models.autoui_model import AutoUIModel
    from guiagent.models.autoui_train import build_examples, load_aitw_steps, train_autoui

    data = write_export(tmp_path / "export")
    examples = build_examples(load_aitw_steps(data.parent))
    assert len(examples) == 3 and examples[1].target.startswith("Action Plan: [TYPE, PRESS_ENTER]")

    def batch_loss(m: AutoUIModel) -> float:
        feats = m.image_features([Image.open(e.image) for e in examples])
        with torch.no_grad():
            return float(m.loss([e.source for e in examples], [e.target for e in examples], feats))

    before = batch_loss(AutoUIModel.from_t5(tiny_t5, seed=0).inference_mode())
    report = train_autoui(data, tmp_path / "ckpt", base=tiny_t5, max_steps=1, batch_size=8, lr=3e-3, seed=0,
                          threads=1)
    assert report.steps == 1 and report.examples == 3
    assert report.first_loss == pytest.approx(before, rel=1e-4)  # the step started from that model
    after = batch_loss(AutoUIModel.from_pretrained(tmp_path / "ckpt"))
    assert after < before
    saved = json.loads((tmp_path / "ckpt" / "train_report.json").read_text())
    assert saved["steps"] == 1 and saved["losses"] == pytest.approx(report.losses)


def test_train_cli_from_scratch_and_bad_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guiagent.models.autoui_model import is_autoui_checkpoint
    from guiagent.models.autoui_train import load_aitw_steps

    data = write_export(tmp_path / "export")
    args = _cli().parse_args(["train", "autoui", "--data", str(tmp_path / "export"), "--out", str(tmp_path / "m"),
                              "--max-steps", "2", "--batch-size", "2", "--threads", "1"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "3 examples" in out and "2 steps" in out and "loss" in out
    assert is_autoui_checkpoint(tmp_path / "m") and not (tmp_path / "m" / "_scratch_t5").exists()

    lines = data.read_text().splitlines()
    data.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(RecordingError, match=r"aitw.jsonl:2: not JSON"):
        load_aitw_steps(data)
    data.write_text(lines[0].replace("frames/0.png", "frames/missing.png") + "\n")
    with pytest.raises(RecordingError, match="missing.png not found"):
        load_aitw_steps(data)
    data.write_text('{"goal": "g"}\n')
    with pytest.raises(RecordingError, match="not an AITW step"):
        load_aitw_steps(data)


@pytest.mark.slow
def test_trained_autoui_drives_the_planner_to_the_taught_action(tmp_path: Path) -> None:
    """Overfit a from-scratch Auto-UI on one step, then the planner must emit that exact tap."""
    from guiagent.models.autoui_train import train_autoui

    (tmp_path / "export").mkdir()
    screen = phone_screen("Settings", (20, 90, 200))
    screen.save(tmp_path / "export" / "s.png")
    step = AitwEpisodeStep(goal="open settings", image="s.png", action=tap(0.25, 0.5),
                           future_plan=[T.DUAL_POINT, T.TYPE])
    (tmp_path / "export" / "aitw.jsonl").write_text(step.model_dump_json() + "\n")
    obs = Observation(screenshot=screen, screen_size=screen.size)
    first_loss, decision = None, None
    for chunk in range(6):  # train in chunks until the planner emits the taught action (~300 steps)
        base = tmp_path / f"m{chunk - 1}" if chunk else None
        report = train_autoui(tmp_path / "export", tmp_path / f"m{chunk}", epochs=100, lr=3e-3, seed=chunk,
                              base=base, threads=1)
        first_loss = first_loss if first_loss is not None else report.first_loss
        try:
            decision = build_planner("autoui", model_path=str(tmp_path / f"m{chunk}")).next("open settings", obs, [])
        except PlanParseError:
            continue
        if decision.action == Click(target=Target.at(0.5, 0.25)):
            break
    assert report.last_loss < first_loss / 10
    assert decision is not None and isinstance(decision.action, Click)
    assert decision.action.target.point == Point(x=0.5, y=0.25)
    assert decision.subgoal == "tap" and decision.plan == ("type",)


def test_hf_vision_encoder_plugs_a_real_transformers_vision_model(tiny_t5: Path, tmp_path: Path) -> None:
    """A tiny random CLIP vision tower saved locally is the image encoder (the hook for BLIP-2 & co.)."""
    import torch
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    from guiagent.models.autoui_model import AutoUIModel

    vision = tmp_path / "clip-vision"
    torch.manual_seed(0)
    CLIPVisionModel(CLIPVisionConfig(hidden_size=24, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2,
                                     image_size=32, patch_size=8)).save_pretrained(vision)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(vision)
    spec = f"hf:{vision}"
    enc = build_image_encoder(spec)
    a = phone_screen("Settings", (20, 90, 200))
    b = ImageOps.invert(a)  # the processor centre-crops: make the images differ everywhere
    assert enc.dim == 24 and enc.encode(a).shape == (1, 24)
    assert not np.allclose(enc.encode(a), enc.encode(b))
    ckpt = AutoUIModel.from_t5(tiny_t5, image_encoder=spec).save_pretrained(tmp_path / "m")
    loaded = AutoUIModel.from_pretrained(ckpt)
    assert loaded.config.image_encoder == spec and loaded.fusion.image_proj.in_features == 24
    assert isinstance(loaded.generate("Previous Actions: None Goal: g", a, max_new_tokens=4).text, str)
