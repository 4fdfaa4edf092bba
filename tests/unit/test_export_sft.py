"""`dataset export --format sft|agentnet`: chat samples in TRL's vision layout, read by the real Qwen2-VL
processor's chat template on a tiny model and trained on for one step; AgentNet-style pyautogui rows."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny_models import build_tiny_qwen2_vl

from guiagent.cli import main
from guiagent.recorder import EpisodeWriter
from guiagent.recorder.export_sft import export_agentnet, export_sft
from guiagent.schema import Back, Click, Decision, EpisodeMeta, Key, Scroll, Step, Swipe, Target, TypeText
from guiagent.schema.errors import ConfigError, RecordingError

TINY_MAX_PIXELS = 28 * 28 * 64  # tests/tiny_models.py's processor limit


def _frame(seed: int, size: tuple[int, int] = (320, 200)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


@pytest.fixture
def episodes(tmp_path: Path) -> Path:
    root = tmp_path / "eps"
    a = EpisodeWriter(root / "a", EpisodeMeta(id="ep-a", task="log in", source="human", platform="linux"))
    a.add_step(Step(index=0, source="human", action=Click(target=Target.at(0.25, 0.5)), screen_size=(320, 200),
                    decision=Decision(thought="focus the password field", action=Back())), _frame(0))
    a.add_step(Step(index=1, source="human", action=TypeText(text="{{password}}", submit=True)), _frame(1))
    a.add_step(Step(index=2, source="human", action=Key(keys="ctrl+s")), _frame(2))
    a.add_step(Step(index=3, source="human", action=Scroll(direction="down")), _frame(3))
    a.close("success")
    b = EpisodeWriter(root / "b", EpisodeMeta(id="ep-b", task="go back", platform="android"))
    b.add_step(Step(index=0, action=Swipe(start=Target.at(0.5, 0.8), end=Target.at(0.5, 0.2))), _frame(4, (200, 400)))
    b.add_step(Step(index=1, action=Back()), None)  # no frame
    b.add_step(Step(index=2, action=Back()), _frame(5, (200, 400)))
    b.close("failed", reason="x")
    return root


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_sft_uitars_layout(episodes: Path, tmp_path: Path) -> None:
    out = tmp_path / "sft"
    report = export_sft([episodes], out, "uitars")
    rows = _rows(out / "sft.jsonl")
    assert report.episodes == 2 and report.steps == len(rows) == 6
    assert report.skipped == {"no frame": 1}
    first = rows[0]
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert first["messages"][1]["content"][0] == {"type": "image"}
    assert first["messages"][1]["content"][1]["text"] == "Task: log in"
    assert first["messages"][2]["content"] == [
        {"type": "text", "text": "Thought: focus the password field\nAction: click(start_box='(250,500)')"}]
    assert first["images"] == ["images/ep-a/000000.png"] and (out / first["images"][0]).is_file()
    answers = [r["messages"][2]["content"][0]["text"] for r in rows]
    assert answers[1:] == ["Action: type(content='{{password}}\\n')", "Action: hotkey(key='ctrl s')",
                           "Action: scroll(start_box='(500,500)', direction='down')",
                           "Action: drag(start_box='(500,800)', end_box='(500,200)')", "Action: press_back()"]
    assert "Previous actions:\n1. Thought: focus the password field Action: click" in \
        rows[1]["messages"][1]["content"][1]["text"]
    # LLaMA-Factory's sharegpt copy: the same samples, string contents with an <image> placeholder
    lf = json.loads((out / "sft_llamafactory.json").read_text())
    assert lf[0]["messages"][1]["content"] == "<image>Task: log in" and lf[0]["images"] == first["images"]
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["guiagent_sft"]["formatting"] == "sharegpt"


def test_sft_showui_and_qwen25vl_skip_what_they_cannot_say(episodes: Path, tmp_path: Path) -> None:
    report = export_sft([episodes], tmp_path / "showui", "showui")
    rows = _rows(tmp_path / "showui" / "sft.jsonl")
    got = [ast.literal_eval(r["messages"][2]["content"][0]["text"]) for r in rows]
    assert [g["action"] for g in got] == ["CLICK", "INPUT", "ENTER", "SCROLL", "SWIPE"]
    assert got[1]["value"] == "{{password}}" and rows[1]["images"] == rows[2]["images"]
    assert report.skipped == {"no frame": 1, "no showui form: ShowUI's action space has no key": 1,
                              "no showui form: ShowUI's action space has no back": 1}
    export_sft([episodes], tmp_path / "q", "qwen25vl", max_pixels=TINY_MAX_PIXELS)
    rows = _rows(tmp_path / "q" / "sft.jsonl")
    first = rows[0]
    assert first["meta"]["seen_size"] == [280, 168] and first["meta"]["image_size"] == [320, 200]
    assert '"coordinate": [70, 84]' in first["messages"][2]["content"][0]["text"]  # pixels of 280x168
    assert "280x168 pixels" in first["messages"][0]["content"][0]["text"]
    assert '"mobile_use"' in rows[-1]["messages"][2]["content"][0]["text"]
    with pytest.raises(ConfigError, match="unknown SFT family"):
        export_sft([episodes], tmp_path / "x", "llava")


def test_agentnet_export(episodes: Path, tmp_path: Path) -> None:
    report = export_agentnet([episodes], tmp_path / "an")
    rows = _rows(tmp_path / "an" / "agentnet.jsonl")
    assert [r["code"] for r in rows] == [
        "pyautogui.click(x=0.2500, y=0.5000)", "pyautogui.write(message='{{password}}')\npyautogui.press('enter')",
        "pyautogui.hotkey('ctrl', 's')", "pyautogui.scroll(-5)",
        "pyautogui.moveTo(x=0.5000, y=0.8000)\npyautogui.dragTo(x=0.5000, y=0.2000)"]
    assert rows[0]["thought"] == "focus the password field" and rows[0]["coordinates"] == "normalized"
    assert report.skipped == {"no frame": 1, "no pyautogui form: pyautogui has no back": 1}


def test_cli_progress_and_summary(episodes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["dataset", "export", str(episodes), "--format", "sft", "--family", "showui",
              "--out", str(tmp_path / "o")])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "dataset export sft/showui" in text and "samples" in text and "skipped: no frame" in text
    assert "2/2" in text  # the progress bar over episodes
    with pytest.raises(SystemExit):
        main(["dataset", "export", str(episodes), "--format", "aitw", "--out", str(tmp_path / "a")])
    text = capsys.readouterr().out
    assert "export aitw" in text and "2/2" in text and "dataset export aitw" in text  # every format: bar + table
    with pytest.raises(SystemExit) as failed:
        main(["dataset", "export", str(episodes), "--format", "sft", "--out", str(tmp_path / "p")])
    assert failed.value.code == 2 and "--format sft needs --family" in capsys.readouterr().err
    only_keys = EpisodeWriter(tmp_path / "k", EpisodeMeta(id="k", task="save"))
    only_keys.add_step(Step(index=0, action=Key(keys="ctrl+s")), _frame(6))
    only_keys.close("success")
    with pytest.raises(RecordingError, match="nothing to export"):
        export_sft([tmp_path / "k"], tmp_path / "q", "showui")


@pytest.mark.parametrize("family", ["qwen25vl", "uitars"])
def test_sft_export_trains_one_step_through_the_qwen2vl_processor(episodes: Path, tmp_path: Path,
                                                                  family: str) -> None:
    """The export as a trainer consumes it: the processor's chat template over the typed parts, the
    image from `images`, answer-only labels, one optimizer step: finite loss, weights move."""
    import torch
    from transformers import AutoModelForImageTextToText

    from grounding.models.hf_vlm import load_processor

    base = build_tiny_qwen2_vl(tmp_path / "tiny", variant="qwen2_5_vl" if family == "qwen25vl" else "qwen2_vl")
    out = tmp_path / "sft"
    export_sft([episodes], out, family, max_pixels=TINY_MAX_PIXELS)
    sample = _rows(out / "sft.jsonl")[0]
    processor = load_processor(base)
    images = [Image.open(out / p).convert("RGB") for p in sample["images"]]
    full = processor.apply_chat_template(sample["messages"], tokenize=False)
    prompt = processor.apply_chat_template(sample["messages"][:-1], tokenize=False, add_generation_prompt=True)
    answer = sample["messages"][-1]["content"][0]["text"]
    assert full.startswith(prompt) and answer in full[len(prompt):]
    assert full.count("<|vision_start|><|image_pad|><|vision_end|>") == 1
    batch = processor(text=[full], images=images, return_tensors="pt")
    n_prompt = processor(text=[prompt], images=images, return_tensors="pt")["input_ids"].shape[1]
    labels = batch["input_ids"].clone()
    labels[:, :n_prompt] = -100
    assert (labels != -100).sum() > 3  # the answer tokens are scored
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_pretrained(str(base))
    model.train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss = model(**batch, labels=labels).loss
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    optimizer.step()
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert any("visual" in n for n in changed) and any("language_model" in n for n in changed)
