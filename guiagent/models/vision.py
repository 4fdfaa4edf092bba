"""Pluggable image encoders for the Auto-UI model: screenshot -> a few feature vectors.

Auto-UI feeds one frozen BLIP-2 pooled vector (1408-d) per screenshot. Here the encoder is a
choice named by a spec string, stored in the model's config so a checkpoint reloads with the
encoder it was trained with:

- `pixels[:grid=G]` (default): deterministic pixel statistics, no weights, CPU-cheap. One
  pooled token: per-cell mean RGB, gray std and edge density on a GxG grid + a colour histogram.
- `patches[:grid=G]`: G*G tokens, each a 4x4 RGB thumbnail of its cell plus its (y, x) centre.
- `hf:PATH`: a transformers vision model from a local directory (e.g. a BLIP-2 / CLIP / SigLIP
  vision tower with its image processor); one token = its pooled output (or mean of the last
  hidden states).

Encoders return numpy arrays `[tokens, dim]`; the model converts to torch (encoders stay frozen).
"""

from __future__ import annotations

import abc
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from guiagent.schema.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from PIL.Image import Image

DEFAULT_ENCODER = "pixels:grid=8"


class ImageEncoder(abc.ABC):
    spec: str
    dim: int
    tokens: int

    @abc.abstractmethod
    def encode(self, image: Image) -> np.ndarray:
        """Features of one image, float32 `[tokens, dim]`."""


def _rgb_small(image: Image, side: int) -> np.ndarray:
    from PIL import Image as PILImage

    small = image.convert("RGB").resize((side, side), PILImage.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float32) / 255.0


class PixelStatsEncoder(ImageEncoder):
    """One pooled vector of cheap, deterministic pixel statistics."""

    def __init__(self, grid: int = 8) -> None:
        if not 1 <= grid <= 32:
            raise ConfigError(f"pixels encoder: grid must be in 1..32, not {grid}")
        self.grid, self.spec, self.tokens = grid, f"pixels:grid={grid}", 1
        self.dim = grid * grid * 5 + 24

    def encode(self, image: Image) -> np.ndarray:
        g, cell = self.grid, 8
        rgb = _rgb_small(image, g * cell)  # [g*8, g*8, 3]
        cells = rgb.reshape(g, cell, g, cell, 3).transpose(0, 2, 1, 3, 4)  # [g, g, 8, 8, 3]
        mean = cells.mean(axis=(2, 3))  # [g, g, 3]
        gray = cells.mean(axis=4)  # [g, g, 8, 8]
        std = gray.std(axis=(2, 3))[..., None]
        edges = (np.abs(np.diff(gray, axis=2)).mean(axis=(2, 3)) + np.abs(np.diff(gray, axis=3)).mean(axis=(2, 3)))
        hist = np.concatenate([np.histogram(rgb[..., c], bins=8, range=(0.0, 1.0))[0] for c in range(3)])
        hist = hist.astype(np.float32) / rgb[..., 0].size
        feats = np.concatenate([mean.reshape(-1), std.reshape(-1), edges.reshape(-1), hist])
        return feats.astype(np.float32)[None, :]


class PatchEncoder(ImageEncoder):
    """G*G tokens: each cell's 4x4 RGB thumbnail and its normalized (y, x) centre."""

    def __init__(self, grid: int = 6) -> None:
        if not 1 <= grid <= 16:
            raise ConfigError(f"patches encoder: grid must be in 1..16, not {grid}")
        self.grid, self.spec = grid, f"patches:grid={grid}"
        self.tokens, self.dim = grid * grid, 4 * 4 * 3 + 2

    def encode(self, image: Image) -> np.ndarray:
        g = self.grid
        rgb = _rgb_small(image, g * 4)
        cells = rgb.reshape(g, 4, g, 4, 3).transpose(0, 2, 1, 3, 4).reshape(g * g, 48)
        centres = (np.stack(np.meshgrid(np.arange(g), np.arange(g), indexing="ij"), -1).reshape(-1, 2) + 0.5) / g
        return np.concatenate([cells, centres], axis=1).astype(np.float32)


class HfVisionEncoder(ImageEncoder):
    """A transformers vision model from a local directory (frozen, eval mode, CPU by default)."""

    def __init__(self, path: str, device: str = "cpu") -> None:
        try:
            import torch  # noqa: F401
            from transformers import AutoImageProcessor, AutoModel
        except ImportError as exc:
            raise ConfigError(f"the hf image encoder needs torch and transformers: {exc}") from exc
        try:
            self.processor = AutoImageProcessor.from_pretrained(path)
            self.model = AutoModel.from_pretrained(path).to(device).eval()
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the vision model at {path}: {exc}") from exc
        cfg = getattr(self.model.config, "vision_config", self.model.config)
        self.dim = int(getattr(cfg, "hidden_size", 0) or getattr(cfg, "projection_dim", 0))
        self.spec, self.tokens, self.device = f"hf:{path}", 1, device

    def encode(self, image: Image) -> np.ndarray:
        import torch

        inputs = self.processor(images=image.convert("RGB"), return_tensors="pt").to(self.device)
        with torch.no_grad():
            model = getattr(self.model, "vision_model", self.model)
            out = model(pixel_values=inputs["pixel_values"])
        pooled = getattr(out, "pooler_output", None)
        vec = pooled if pooled is not None else out.last_hidden_state.mean(dim=1)
        return vec[0].float().cpu().numpy()[None, :]


def _parse_spec(spec: str) -> tuple[str, dict[str, Any] | str]:
    kind, _, rest = spec.partition(":")
    if kind == "hf":
        if not rest:
            raise ConfigError("image encoder 'hf:PATH' needs a local model directory")
        return kind, rest
    opts: dict[str, Any] = {}
    for part in filter(None, rest.split(",")):
        key, eq, value = part.partition("=")
        if not eq or key != "grid" or not value.isdigit():
            raise ConfigError(f"bad image encoder option {part!r} in {spec!r}; expected grid=N")
        opts[key] = int(value)
    return kind, opts


@lru_cache(maxsize=4)
def build_image_encoder(spec: str = DEFAULT_ENCODER) -> ImageEncoder:
    """An encoder from its spec string (cached: an hf encoder loads once per process)."""
    kind, opts = _parse_spec(spec.strip())
    if kind == "hf":
        assert isinstance(opts, str)
        return HfVisionEncoder(opts)
    assert isinstance(opts, dict)
    if kind == "pixels":
        return PixelStatsEncoder(**opts)
    if kind == "patches":
        return PatchEncoder(**opts)
    raise ConfigError(f"unknown image encoder {spec!r}; use pixels[:grid=N], patches[:grid=N] or hf:PATH")
