"""LoRA fine-tuning of a Qwen2-VL-family grounder (`train grounder --backend vlm`) on a tiny random
checkpoint built offline: it overfits one ScreenSpot record until the grounder, loaded the normal
way (`--grounder vlm` with `adapter=`), answers that record's exact coordinates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from tiny_models import build_tiny_qwen2_vl

from grounding.coord_parse import parse_point
from guiagent.models.grounder_vlm_train import META_FILE, train_vlm_grounder
from guiagent.registry import build_grounder
from guiagent.schema import Observation
from guiagent.schema.errors import ConfigError, GroundingError, ModelError

pytestmark = pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning")  # raised inside peft

BOX = [70, 50, 30, 20]  # x, y, w, h on a 112 x 84 screenshot: centre (85, 60)
WANT = "(759,714)"  # UI-TARS' answer: 0..1000 of the image, 85/112 and 60/84


def _screen() -> Image.Image:
    img = Image.new("RGB", (112, 84), "white")
    x, y, w, h = BOX
    ImageDraw.Draw(img).rectangle((x, y, x + w, y + h), fill=(30, 80, 200))
    return img


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object, list[tuple[int, int]]]:
    root = tmp_path_factory.mktemp("vlmtrain")
    base = build_tiny_qwen2_vl(root / "base")
    data = root / "set"
    (data / "images").mkdir(parents=True)
    _screen().save(data / "images" / "s.png")
    record = {"img_filename": "s.png", "instruction": "the OK button", "bbox": BOX, "data_type": "text",
              "data_source": "test"}
    (data / "records.jsonl").write_text(json.dumps(record) + "\n")
    steps: list[tuple[int, int]] = []
    report = train_vlm_grounder([data / "records.jsonl"], root / "out", base=base, family="uitars", epochs=40,
                                lr=1e-2, lora_rank=8, merge=True, device="cpu",
                                on_step=lambda step, total, loss: steps.append((step, total)))
    return base, root / "out", report, steps


def test_training_report_and_files(trained: tuple) -> None:
    _, out, report, steps = trained
    assert steps[-1] == (40, 40) and len(steps) == 40
    assert report.samples == 1 and report.steps == 40 and report.coord_format == "norm1000"
    assert report.last_loss < report.first_loss - 0.3  # a tiny random model's logits are small: the floor is high
    assert 0 < report.trainable_params < report.total_params / 5  # only LoRA weights train
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert json.loads((out / "adapter" / META_FILE).read_text())["family"] == "uitars"
    assert (out / "merged" / "config.json").is_file() and (out / "merged" / "processor_config.json").is_file()
    summary = report.summary()
    assert summary["family"] == "uitars" and summary["optimizer steps"] == 40


def test_grounder_with_adapter_answers_the_trained_coordinates(trained: tuple) -> None:
    base, out, _, _ = trained
    obs = Observation(screenshot=_screen(), elements=(), screen_size=(112, 84))
    before = build_grounder("vlm", model_path=str(base), family="uitars", device="cpu")
    try:
        before.ground("the OK button", obs)
    except GroundingError:  # a random model's reply is usually no location at all
        pass
    assert before.last_reply is not None and before.last_reply.text != WANT
    for opts in ({"model_path": str(base), "adapter": str(out / "adapter")}, {"model_path": str(out / "merged")}):
        g = build_grounder("vlm", family="uitars", device="cpu", **opts)
        result = g.ground("the OK button", obs)
        assert g.last_reply is not None and g.last_reply.text == WANT, opts
        x, y = result.point.to_pixels((112, 84))
        assert 70 <= x <= 100 and 50 <= y <= 70
        assert result.point == parse_point(WANT, "norm1000")
        g.close()


def test_bad_input(trained: tuple, tmp_path: Path) -> None:
    base, out, _, _ = trained
    with pytest.raises(ConfigError, match="not a Qwen2-VL-family grounder"):
        train_vlm_grounder([tmp_path], tmp_path / "o", base=base, family="generic")
    with pytest.raises(ConfigError, match="no config.json"):
        train_vlm_grounder([tmp_path], tmp_path / "o", base=tmp_path, family="uitars")
    with pytest.raises(ConfigError, match="no grounding set"):
        train_vlm_grounder([tmp_path / "none.json"], tmp_path / "o", base=base, family="uitars")
    with pytest.raises(ModelError, match="not a peft adapter"):
        build_grounder("vlm", model_path=str(base), adapter=str(tmp_path), device="cpu")


def test_samples_from_an_exploration_folder_and_a_json_set(tmp_path: Path) -> None:
    from guiagent.models.grounder_vlm_train import load_samples

    (tmp_path / "images").mkdir()
    _screen().save(tmp_path / "images" / "s.png")
    record = {"img_filename": "s.png", "instruction": "OK", "bbox": BOX, "data_type": "text"}
    (tmp_path / "screenspot.json").write_text(json.dumps([record, {**record, "instruction": "the blue box"}]))
    from_folder = load_samples([tmp_path])  # as `guiagent explore` writes it
    from_file = load_samples([tmp_path / "screenspot.json"])
    assert from_folder == from_file and len(from_folder) == 2
    s = from_folder[0]
    assert s.image == tmp_path / "images" / "s.png" and s.instruction == "OK"
    assert (round(s.point.x, 4), round(s.point.y, 4)) == (round(85 / 112, 4), round(60 / 84, 4))
    assert s.box == (70 / 112, 50 / 84, 100 / 112, 70 / 84)
    (tmp_path / "bad.jsonl").write_text('{"img_filename": "s.png"}\n')
    with pytest.raises(ConfigError, match="every line needs"):
        load_samples([tmp_path / "bad.jsonl"])


def test_qwen25_samples_answer_in_pixels_of_the_seen_image(tmp_path: Path) -> None:
    """A Qwen2.5-VL base: the target is JSON in pixels of the processor-resized image; only it is scored."""
    from grounding.models.hf_vlm import load_processor, seen_size
    from grounding.vlm import PromptTemplate
    from guiagent.models.grounder_vlm_train import encode_sample, load_samples

    base = build_tiny_qwen2_vl(tmp_path / "q25", variant="qwen2_5_vl")
    (tmp_path / "images").mkdir()
    _screen().resize((448, 336)).save(tmp_path / "images" / "s.png")  # seen as 252 x 168 (max 28*28*64)
    box = [x * 4 for x in BOX]  # (280, 200, 400, 280) as corners
    (tmp_path / "screenspot.json").write_text(json.dumps(
        [{"img_filename": "s.png", "instruction": "OK", "bbox": box, "data_type": "text"}]))
    sample = load_samples([tmp_path])[0]
    processor = load_processor(base)
    inputs, answer = encode_sample(processor, PromptTemplate.load("qwen2vl"), "qwen2vl", "pixels", sample)
    assert seen_size(processor, (448, 336)) == (252, 168)
    assert answer == '{"bbox_2d": [158, 100, 225, 140]}'  # the corners scaled by 252/448 and 168/336
    scored = inputs["labels"][0][inputs["labels"][0] != -100]
    assert processor.tokenizer.decode(scored) == answer + "<|im_end|>"
    assert inputs["attention_mask"].shape == inputs["input_ids"].shape == inputs["labels"].shape
    assert parse_point(answer, "pixels", (252, 168)).x == pytest.approx(sample.point.x, abs=1 / 252)
