"""The Auto-UI network: a T5 encoder-decoder whose encoder states attend to the screenshot.

    image features [N, D] --Linear--> [N, d_model]                       (N tokens; D from the encoder)
    att = single-head attention(query = T5 encoder states, key = value = image tokens)
    g   = sigmoid(W [H_text ; att]);   H = (1 - g) * H_text + g * att    (the decoder reads H)

A checkpoint directory holds the T5 part and its tokenizer (`save_pretrained`, loadable by plain
transformers), `autoui_fusion.safetensors` (projection, attention, gate) and `autoui_config.json`
(which image encoder, its dimension). torch and transformers are imported inside functions only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guiagent.models.vision import DEFAULT_ENCODER, ImageEncoder, build_image_encoder
from guiagent.schema.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

CONFIG_FILE = "autoui_config.json"
FUSION_FILE = "autoui_fusion.safetensors"


@dataclass
class AutoUIConfig:
    image_encoder: str = DEFAULT_ENCODER
    image_dim: int = 0
    image_tokens: int = 1
    max_source_length: int = 512
    max_target_length: int = 128
    format_version: int = 1


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int


def is_autoui_checkpoint(path: str | Path) -> bool:
    return (Path(path) / CONFIG_FILE).is_file()


@lru_cache(maxsize=1)
def _fusion_class() -> type:
    import torch
    from torch import nn

    class ImageTextFusion(nn.Module):
        def __init__(self, d_model: int, image_dim: int) -> None:
            super().__init__()
            self.image_proj = nn.Linear(image_dim, d_model)
            self.attention = nn.MultiheadAttention(d_model, num_heads=1, batch_first=True)
            self.gate = nn.Linear(2 * d_model, d_model)

        def forward(self, text_states: torch.Tensor, image_feats: torch.Tensor) -> torch.Tensor:
            image = self.image_proj(image_feats)
            att, _ = self.attention(text_states, image, image, need_weights=False)
            g = torch.sigmoid(self.gate(torch.cat([text_states, att], dim=-1)))
            return (1 - g) * text_states + g * att

    return ImageTextFusion


class AutoUIModel:
    """T5 + image fusion. Build with `from_t5` (fresh fusion) or `from_pretrained` (a saved one)."""

    def __init__(self, t5: Any, tokenizer: Any, config: AutoUIConfig, encoder: ImageEncoder | None = None) -> None:
        self.t5, self.tokenizer, self.config = t5, tokenizer, config
        self.encoder = encoder or build_image_encoder(config.image_encoder)
        if config.image_dim and config.image_dim != self.encoder.dim:
            raise ConfigError(f"image encoder {self.encoder.spec} gives {self.encoder.dim}-d features but the "
                              f"checkpoint expects {config.image_dim}-d")
        config.image_dim, config.image_tokens = self.encoder.dim, self.encoder.tokens
        self.fusion = _fusion_class()(int(t5.config.d_model), config.image_dim)
        if tokenizer.pad_token_id is None:
            raise ModelError("the T5 tokenizer has no pad token")

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_t5(cls, path: str | Path, image_encoder: str = DEFAULT_ENCODER, seed: int = 0) -> AutoUIModel:
        """A T5 checkpoint (e.g. FLAN-Alpaca, or any T5ForConditionalGeneration) + a new fusion."""
        import torch

        t5, tokenizer = _load_t5(path)
        torch.manual_seed(seed)  # the fresh fusion weights are reproducible
        return cls(t5, tokenizer, AutoUIConfig(image_encoder=image_encoder))

    @classmethod
    def from_pretrained(cls, path: str | Path) -> AutoUIModel:
        from safetensors.torch import load_file

        path = Path(path)
        if not is_autoui_checkpoint(path):
            raise ModelError(f"{path} is not an Auto-UI checkpoint (no {CONFIG_FILE})")
        try:
            raw = json.loads((path / CONFIG_FILE).read_text())
            config = AutoUIConfig(**{k: v for k, v in raw.items() if k in AutoUIConfig.__dataclass_fields__})
        except (json.JSONDecodeError, TypeError) as exc:
            raise ModelError(f"{path / CONFIG_FILE} is corrupt: {exc}") from exc
        t5, tokenizer = _load_t5(path)
        model = cls(t5, tokenizer, config)
        try:
            model.fusion.load_state_dict(load_file(str(path / FUSION_FILE)))
        except (OSError, RuntimeError) as exc:
            raise ModelError(f"cannot load the fusion weights from {path / FUSION_FILE}: {exc}") from exc
        model.inference_mode()
        return model

    def save_pretrained(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.t5.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        state = {k: v.detach().contiguous().cpu() for k, v in self.fusion.state_dict().items()}
        save_file(state, str(path / FUSION_FILE))
        (path / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2))
        return path

    # ---- torch plumbing -----------------------------------------------------------------
    def parameters(self) -> list[Any]:
        return [*self.t5.parameters(), *self.fusion.parameters()]

    # Named apart from torch's train/eval pair so the wrapper is never mistaken for Python's
    # builtin that evaluates code: these only switch dropout and friends on or off for both halves.
    def train_mode(self) -> AutoUIModel:
        self.t5.train()
        self.fusion.train()
        return self

    def inference_mode(self) -> AutoUIModel:
        self.t5.eval()
        self.fusion.eval()
        return self

    def image_features(self, images: list[Image]) -> Any:
        """[B, tokens, dim] float tensor of frozen encoder features."""
        import numpy as np
        import torch

        return torch.from_numpy(np.stack([self.encoder.encode(im) for im in images]))

    def _tokenize(self, texts: list[str], max_length: int) -> Any:
        return self.tokenizer(texts, max_length=max_length, truncation=True, padding=True, return_tensors="pt")

    def encode(self, input_ids: Any, attention_mask: Any, image_feats: Any) -> Any:
        text_states = self.t5.get_encoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.fusion(text_states, image_feats.to(text_states.dtype))

    def loss(self, sources: list[str], targets: list[str], image_feats: Any) -> Any:
        """Teacher-forced cross-entropy of `targets` given `sources` and image features."""
        from transformers.modeling_outputs import BaseModelOutput

        enc = self._tokenize(sources, self.config.max_source_length)
        labels = self._tokenize(targets, self.config.max_target_length)["input_ids"]
        labels[labels == self.tokenizer.pad_token_id] = -100  # padding does not count
        hidden = self.encode(enc["input_ids"], enc["attention_mask"], image_feats)
        out = self.t5(encoder_outputs=BaseModelOutput(last_hidden_state=hidden),
                      attention_mask=enc["attention_mask"], labels=labels)
        return out.loss

    def generate(self, text: str, image: Image, max_new_tokens: int | None = None) -> Generation:
        """Greedy decoding of the action text for one (input text, screenshot) pair."""
        import torch
        from transformers.modeling_outputs import BaseModelOutput

        enc = self._tokenize([text], self.config.max_source_length)
        with torch.no_grad():
            hidden = self.encode(enc["input_ids"], enc["attention_mask"], self.image_features([image]))
            out = self.t5.generate(
                encoder_outputs=BaseModelOutput(last_hidden_state=hidden),
                attention_mask=enc["attention_mask"],
                max_new_tokens=max_new_tokens or self.config.max_target_length,
                do_sample=False, num_beams=1,
            )
        ids = out[0].tolist()
        decoded = self.tokenizer.decode(ids, skip_special_tokens=True)
        # every generated position counts (the first id is the decoder start token)
        return Generation(decoded.strip(), int(enc["input_ids"].shape[1]), max(len(ids) - 1, 0))


def _load_t5(path: str | Path) -> tuple[Any, Any]:
    try:
        from transformers import AutoTokenizer, T5ForConditionalGeneration
    except ImportError as exc:
        raise ConfigError(f"the Auto-UI model needs torch and transformers: {exc}") from exc
    path = Path(path)
    if not (path / "config.json").is_file():
        raise ModelError(f"{path} is not a T5 checkpoint directory (no config.json)")
    try:
        t5 = T5ForConditionalGeneration.from_pretrained(path)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the T5 checkpoint at {path}: {exc}") from exc
    return t5, tokenizer
