"""`HfVlmChat`: a ChatModel running a local Qwen2-VL-family checkpoint with transformers.

Covers Qwen2-VL and Qwen2.5-VL and their GUI fine-tunes (ShowUI, UI-TARS, OS-Atlas, UGround):
a checkpoint DIRECTORY on disk (no hub here), on CPU or CUDA.

Without torchvision the stock `Qwen2VLProcessor` refuses to build (it insists on a video
processor), so `load_processor` assembles a small processor subclass holding only the PIL
image processor (`Qwen2VLImageProcessorPil`) and the tokenizer. It saves and reloads
(`save_pretrained` / `GuiVlProcessor.from_pretrained`) like any processor, and it reads both
checkpoint layouts: `processor_config.json` (transformers 5) and `preprocessor_config.json`
+ `chat_template.json` (checkpoints saved by transformers 4).

Each reply carries `image_sizes`: for every image, (original (w, h), the (w, h) the model saw)
from `image_grid_thw * patch_size`, so coordinates can be mapped back (see coord_parse).

torch and transformers are imported inside functions only.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grounding.coord_parse import Size, smart_resize
from grounding.models.base import ChatMessage, ChatModel, ChatReply
from guiagent.schema import TokenUsage
from guiagent.schema.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

SUPPORTED_MODEL_TYPES = ("qwen2_vl", "qwen2_5_vl")
# Strings stripped from decoded output (end-of-turn markers, padding); box tokens are kept,
# OS-Atlas and Qwen2-VL print their answers inside <|box_start|>...<|box_end|>.
_END_MARKERS = ("<|im_end|>", "<|endoftext|>", "<|vision_pad|>")


@cache
def processor_class() -> type:
    """The torchvision-free Qwen2-VL processor class (built on first use: imports transformers)."""
    from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor

    class GuiVlProcessor(Qwen2VLProcessor):
        """Qwen2VLProcessor with image processor + tokenizer only (no video processor)."""

        def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any):
            super().__init__(image_processor=image_processor, tokenizer=tokenizer, chat_template=chat_template, **kwargs)

    return GuiVlProcessor


def _read_chat_template(path: Path) -> str | None:
    jinja = path / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    js = path / "chat_template.json"
    if js.is_file():
        try:
            tpl = json.loads(js.read_text(encoding="utf-8")).get("chat_template")
        except (json.JSONDecodeError, AttributeError) as exc:
            raise ModelError(f"{js} is not valid JSON with a 'chat_template' key: {exc}") from exc
        return tpl if isinstance(tpl, str) else None
    return None


def load_processor(path: str | Path, *, min_pixels: int | None = None, max_pixels: int | None = None) -> Any:
    """The GuiVlProcessor of a checkpoint directory (image processor + tokenizer + template)."""
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    path = Path(path)
    overrides: dict[str, Any] = {}  # keyword arguments of from_pretrained
    if min_pixels:
        overrides["min_pixels"] = int(min_pixels)
    if max_pixels:
        overrides["max_pixels"] = int(max_pixels)
    try:
        image_processor = Qwen2VLImageProcessorPil.from_pretrained(str(path), **overrides)
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the processor of {path}: {exc}") from exc
    template = _read_chat_template(path) or getattr(tokenizer, "chat_template", None)
    if not template:
        raise ModelError(f"{path} has no chat template (chat_template.jinja/.json or in tokenizer_config.json)")
    return processor_class()(image_processor, tokenizer, chat_template=template)


def seen_size(processor: Any, size: Size) -> Size:
    """The (w, h) `processor` resizes a `size` (w, h) image to, without running it."""
    ip = processor.image_processor
    lo = _size_field(ip.size, "shortest_edge") or 56 * 56
    hi = _size_field(ip.size, "longest_edge") or 28 * 28 * 1280
    return smart_resize(size[0], size[1], factor=ip.patch_size * ip.merge_size, min_pixels=lo, max_pixels=hi)


def _size_field(size: Any, key: str) -> int | None:
    # `size` is a SizeDict in transformers 5, a plain dict in checkpoints' JSON
    value = size.get(key) if isinstance(size, dict) else getattr(size, key, None)
    return int(value) if value else None


def hf_messages(messages: Sequence[ChatMessage]) -> tuple[list[dict[str, Any]], list[Image]]:
    """Chat messages in the processor's chat-template layout (typed image/text parts) + their images."""
    out: list[dict[str, Any]] = []
    images: list[Image] = []
    for m in messages:
        if m.role not in ("system", "user", "assistant"):
            raise ConfigError(f"unknown chat role {m.role!r}")
        if not m.images:
            out.append({"role": m.role, "content": [{"type": "text", "text": m.text}]})
            continue
        parts: list[dict[str, Any]] = [{"type": "image"} for _ in m.images]
        parts.append({"type": "text", "text": m.text})
        out.append({"role": m.role, "content": parts})
        images.extend(img.convert("RGB") for img in m.images)
    return out, images


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available here")
    return device


def load_adapter(model: Any, adapter: Path) -> Any:
    """`model` with the peft LoRA adapter saved in `adapter` applied (peft imported here only)."""
    if not (adapter / "adapter_config.json").is_file():
        raise ModelError(f"adapter {adapter} is not a peft adapter directory (no adapter_config.json)")
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise ModelError("loading a LoRA adapter needs peft: pip install peft") from exc
    try:
        return PeftModel.from_pretrained(model, str(adapter))
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelError(f"cannot apply the adapter {adapter}: {exc}") from exc


class HfVlmChat(ChatModel):
    """A local Qwen2-VL / Qwen2.5-VL checkpoint as a ChatModel."""

    reports_image_sizes = True

    def __init__(
        self,
        model_path: str | Path,
        *,
        device: str = "auto",
        dtype: str = "auto",
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        adapter: str | Path | None = None,
    ) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForImageTextToText

        path = Path(model_path).expanduser()
        if not (path / "config.json").is_file():
            raise ModelError(f"model_path {path} is not a checkpoint directory (no config.json)")
        try:
            config = AutoConfig.from_pretrained(str(path))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read {path}/config.json: {exc}") from exc
        if config.model_type not in SUPPORTED_MODEL_TYPES:
            raise ModelError(
                f"{path} is a {config.model_type!r} model; HfVlmChat runs {', '.join(SUPPORTED_MODEL_TYPES)} "
                "checkpoints (ShowUI, UI-TARS, OS-Atlas, UGround)"
            )
        self.device = _pick_device(device)
        if dtype == "auto":
            torch_dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        else:
            named = getattr(torch, dtype, None)
            if not isinstance(named, torch.dtype):
                raise ConfigError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16")
            torch_dtype = named
        self.processor = load_processor(path, min_pixels=min_pixels, max_pixels=max_pixels)
        try:
            self.model = AutoModelForImageTextToText.from_pretrained(str(path), dtype=torch_dtype)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load the weights in {path}: {exc}") from exc
        if adapter:  # a LoRA adapter trained on this base (guiagent train grounder --backend vlm)
            self.model = load_adapter(self.model, Path(adapter).expanduser())
        self.model.to(self.device).eval()  # type: ignore[arg-type]  # transformers wraps `to` with functools.wraps, typed as taking the model first
        self.model_path = path
        self.model_type = str(config.model_type)
        self.name = f"hf:{path.name}" + (f"+{Path(adapter).name}" if adapter else "")
        self._lock = threading.Lock()

    def seen_size(self, size: Size) -> Size:
        """The (w, h) an image of `size` is resized to before the model sees it."""
        return seen_size(self.processor, size)

    def chat(
        self, messages: Sequence[ChatMessage], *, max_tokens: int = 512, temperature: float = 0.0
    ) -> ChatReply:
        import torch

        if not messages:
            raise ConfigError("chat() needs at least one message")
        if "model" not in self.__dict__:
            raise ModelError(f"{self.name} was closed")
        chat, images = hf_messages(messages)
        start = time.perf_counter()
        try:
            prompt = self.processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
            inputs = self.processor(text=[prompt], images=images or None, return_tensors="pt")
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelError(f"{self.name}: cannot prepare the model input: {exc}") from exc
        sizes: list[tuple[Size, Size]] = []
        if images:
            patch = int(self.processor.image_processor.patch_size)
            for img, (_t, gh, gw) in zip(images, inputs["image_grid_thw"].tolist(), strict=True):
                sizes.append((img.size, (int(gw) * patch, int(gh) * patch)))
        inputs = inputs.to(self.device)
        gen: dict[str, Any] = {"max_new_tokens": int(max_tokens), "do_sample": temperature > 0}
        if temperature > 0:
            gen["temperature"] = float(temperature)
        tok = self.processor.tokenizer
        gen["pad_token_id"] = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        with self._lock, torch.inference_mode():
            try:
                output = self.model.generate(**inputs, **gen)
            except (RuntimeError, ValueError, IndexError) as exc:
                raise ModelError(f"{self.name}: generation failed: {exc}") from exc
        prompt_len = int(inputs["input_ids"].shape[1])
        new_ids = output[0, prompt_len:].tolist()
        stop_ids = {i for i in (tok.eos_token_id, tok.pad_token_id) if i is not None}
        completion = len(new_ids)
        while new_ids and new_ids[-1] in stop_ids:
            new_ids.pop()
        text = tok.decode(new_ids, skip_special_tokens=False)
        for marker in _END_MARKERS:
            text = text.replace(marker, "")
        finish = "length" if completion >= max_tokens and not (set(output[0, -1:].tolist()) & stop_ids) else "stop"
        return ChatReply(
            text=text.strip(),
            usage=TokenUsage(prompt_tokens=prompt_len, completion_tokens=completion, calls=1),
            model=self.name,
            latency_ms=(time.perf_counter() - start) * 1000,
            finish_reason=finish,
            image_sizes=tuple(sizes),
        )

    def close(self) -> None:
        import gc

        self.__dict__.pop("model", None)
        gc.collect()
