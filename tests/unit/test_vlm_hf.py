"""Tiny random Qwen2-VL / Qwen2.5-VL / T5 checkpoints: built offline, saved, reloaded through
the real `from_pretrained` path, run on CPU, and driven through VlmGrounder."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from tiny_models import build_tiny_qwen2_vl, build_tiny_t5

from grounding.coord_parse import ImageResize
from grounding.models.base import ChatMessage, ChatModel, ChatReply
from grounding.models.hf_vlm import HfVlmChat, load_processor, processor_class
from grounding.vlm import VlmGrounder
from guiagent.registry import build_chat_model, build_grounder
from guiagent.schema import Element, Observation, Role
from guiagent.schema.errors import ConfigError, GroundingError, ModelError

SEEN_1280x800 = (280, 168)  # smart_resize(1280x800) under the tiny builders' max_pixels = 28*28*64


@pytest.fixture(scope="module")
def qwen2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen2_vl(tmp_path_factory.mktemp("qwen2vl"))


@pytest.fixture(scope="module")
def qwen2_model(qwen2_dir: Path) -> HfVlmChat:
    return HfVlmChat(qwen2_dir, device="cpu")


def rendered_screen(size: tuple[int, int] = (1280, 800)) -> Observation:
    w, h = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    ok = (int(0.7 * w), int(0.8 * h), int(0.8 * w), int(0.86 * h))
    draw.rectangle(ok, fill=(30, 80, 200))
    draw.text((ok[0] + 8, ok[1] + 6), "OK", fill="white")
    draw.text((20, 20), "Settings", fill="black")
    elements = (Element(id="ok", role=Role.BUTTON, name="OK", bbox=ok, clickable=True),)
    return Observation(screenshot=img, elements=elements, screen_size=size)


def test_checkpoint_reloads_through_from_pretrained(qwen2_dir: Path) -> None:
    from transformers import AutoModelForImageTextToText
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    assert {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json"} <= {
        p.name for p in qwen2_dir.iterdir()
    }
    model = AutoModelForImageTextToText.from_pretrained(str(qwen2_dir))
    assert type(model).__name__ == "Qwen2VLForConditionalGeneration"
    proc = processor_class().from_pretrained(str(qwen2_dir))
    assert isinstance(proc.image_processor, Qwen2VLImageProcessorPil)
    assert proc.tokenizer.convert_tokens_to_ids("<|image_pad|>") == model.config.image_token_id


def test_processor_save_and_reload_give_identical_inputs(qwen2_dir: Path, tmp_path: Path) -> None:
    proc = load_processor(qwen2_dir)
    proc.save_pretrained(str(tmp_path))
    again = processor_class().from_pretrained(str(tmp_path))
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "click OK"}]}]
    image = rendered_screen().screenshot
    a = proc(text=[proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)], images=[image])
    b = again(text=[again.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)], images=[image])
    assert a["input_ids"] == b["input_ids"]
    assert a["image_grid_thw"].tolist() == b["image_grid_thw"].tolist() == [[1, 12, 20]]


def test_generation_reports_usage_and_the_resize(qwen2_model: HfVlmChat) -> None:
    image = rendered_screen().screenshot
    reply = qwen2_model.chat(
        [ChatMessage("system", "You ground."), ChatMessage("user", "Where is OK?", (image,))], max_tokens=16
    )
    assert isinstance(reply.text, str) and not reply.usage_estimated
    assert 1 <= reply.usage.completion_tokens <= 16 and reply.usage.calls == 1
    image_tokens = (SEEN_1280x800[0] // 28) * (SEEN_1280x800[1] // 28)  # one token per 2x2 patches of 14
    assert reply.usage.prompt_tokens > image_tokens
    assert reply.image_sizes == (((1280, 800), SEEN_1280x800),)
    assert qwen2_model.seen_size((1280, 800)) == SEEN_1280x800
    text_only = qwen2_model.chat([ChatMessage("user", "hello")], max_tokens=4)
    assert text_only.image_sizes == () and text_only.usage.prompt_tokens < image_tokens


def test_legacy_layout_and_qwen25_variant(tmp_path: Path) -> None:
    legacy = build_tiny_qwen2_vl(tmp_path / "legacy", legacy_layout=True)
    assert (legacy / "preprocessor_config.json").is_file() and not (legacy / "processor_config.json").exists()
    q25 = build_tiny_qwen2_vl(tmp_path / "q25", variant="qwen2_5_vl")
    image = rendered_screen((1080, 2400)).screenshot
    for path, model_type in ((legacy, "qwen2_vl"), (q25, "qwen2_5_vl")):
        model = build_chat_model(model_path=str(path), device="cpu")
        assert isinstance(model, HfVlmChat) and model.model_type == model_type
        reply = model.chat([ChatMessage("user", "find OK", (image,))], max_tokens=16)
        seen = reply.image_sizes[0][1]
        assert reply.image_sizes[0][0] == (1080, 2400) and seen == model.seen_size((1080, 2400))
        assert seen[0] % 28 == 0 and seen[1] % 28 == 0 and seen[1] > seen[0]
        model.close()


def test_tiny_model_through_the_vlm_grounder(qwen2_dir: Path) -> None:
    """The real path on a real (PIL-rendered) screenshot: random weights print garbage, so the
    grounder either raises a clear GroundingError or returns a valid point; the model must have
    seen the screenshot either way."""
    grounder = build_grounder("vlm", model_path=str(qwen2_dir), family="osatlas", device="cpu", max_tokens=16)
    assert isinstance(grounder, VlmGrounder) and not grounder.presize
    try:
        result = grounder.ground("the OK button", rendered_screen())
        assert 0 <= result.point.x <= 1 and 0 <= result.point.y <= 1
    except GroundingError as exc:
        assert "no usable location" in str(exc) and "hf:" in str(exc)
    reply = grounder.last_reply
    assert reply is not None and reply.image_sizes == (((1280, 800), SEEN_1280x800),)
    assert grounder.usage.calls == 1 and grounder.usage.completion_tokens >= 1
    grounder.close()


class ScriptedAnswer(ChatModel):
    """A REAL HfVlmChat underneath (real processor, real resize, real generation); only the
    reply text is replaced, because random weights cannot answer. Lets the test check the
    grounder's use of the processor-reported resize."""

    reports_image_sizes = True

    def __init__(self, inner: HfVlmChat, answer: Callable[[ChatReply], str]) -> None:
        self.inner, self.answer, self.name = inner, answer, inner.name

    def chat(self, messages: Sequence[ChatMessage], *, max_tokens: int = 512, temperature: float = 0.0) -> ChatReply:
        reply = self.inner.chat(messages, max_tokens=4, temperature=temperature)
        return dataclasses.replace(reply, text=self.answer(reply))


@pytest.mark.parametrize("size", [(1280, 800), (2560, 1600), (720, 1280)])
def test_pixel_answers_are_mapped_back_through_the_processor_resize(qwen2_model: HfVlmChat, size: tuple[int, int]) -> None:
    obs = rendered_screen(size)
    ok = obs.elements[0]

    def click_ok_in_seen_pixels(reply: ChatReply) -> str:
        original, seen = reply.image_sizes[0]
        sx, sy = ImageResize(original, seen).original_to_seen(*ok.center)
        return f"click(start_box='({round(sx)},{round(sy)})')"

    grounder = VlmGrounder(ScriptedAnswer(qwen2_model, click_ok_in_seen_pixels), family="uitars", coord_format="pixels")
    result = grounder.ground("OK", obs)
    assert result.element is not None and result.element.id == "ok"
    seen = grounder.last_reply.image_sizes[0][1]  # type: ignore[union-attr]
    assert seen != size  # the processor really resized: without the undo the click would miss


def test_qwen25_checkpoint_defaults_to_pixel_answers(tmp_path: Path) -> None:
    path = build_tiny_qwen2_vl(tmp_path / "q25", variant="qwen2_5_vl")
    assert build_grounder("vlm", model_path=str(path), family="uitars", device="cpu").coord_format == "pixels"
    assert build_grounder("vlm", model_path=str(path), family="osatlas", device="cpu").coord_format == "norm1000"


def test_bad_checkpoints_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no config.json"):
        HfVlmChat(tmp_path / "missing")
    t5 = build_tiny_t5(tmp_path / "t5")
    with pytest.raises(ModelError, match="'t5' model"):
        HfVlmChat(t5)
    with pytest.raises(ConfigError, match="CUDA"):
        HfVlmChat(build_tiny_qwen2_vl(tmp_path / "q"), device="cuda")


def test_tiny_t5_generates(tmp_path: Path) -> None:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    path = build_tiny_t5(tmp_path / "t5")
    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForSeq2SeqLM.from_pretrained(str(path))
    assert type(model).__name__ == "T5ForConditionalGeneration"
    enc = tok(["Previous Actions: Goal: open settings"], return_tensors="pt")
    assert enc["input_ids"][0, -1].item() == tok.eos_token_id == 1 and tok.pad_token_id == 0
    out = model.generate(**enc, max_new_tokens=16, do_sample=False)
    assert 2 <= out.shape[1] <= 17 and isinstance(tok.decode(out[0], skip_special_tokens=True), str)
