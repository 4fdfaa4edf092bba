"""A sentence-transformers BERT encoder (all-MiniLM-L6-v2 and fine-tuned copies of it) run in
numpy: safetensors weights + the `tokenizers` tokenizer, mean pooling, L2 normalization.

Why: importing torch + sentence-transformers and loading the model takes 3.5-7 s here, which
the guard's semantic check waited for before the first click. This loads in ~0.2 s and gives
the same embeddings (cosine to sentence-transformers' >= 1 - 1e-4, tests/unit/test_bert_np.py).
`load(path)` returns None for a directory it does not cover (another architecture, pooling
or missing files): callers fall back to sentence-transformers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), numpy has none."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _one_blas_thread() -> AbstractContextManager[Any]:
    """These matrices are small: one BLAS thread does them as fast, and on a busy machine
    OpenBLAS's spinning worker threads made a few labels take seconds (measured: 3 s vs 0.8 s)."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:
        return nullcontext()
    return threadpool_limits(1, user_api="blas")


class BertEncoder:
    """BERT forward pass (post-LayerNorm, absolute positions, exact GELU) in float32."""

    def __init__(self, weights: dict[str, np.ndarray], config: dict[str, Any], tokenizer: Any,
                 max_len: int) -> None:
        self.w = weights
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = tokenizer
        self.max_len = max_len
        self.dim = int(config["hidden_size"])

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        # one 2-D GEMM: a stacked (batch, tokens, dim) @ matrix product runs far slower in numpy
        flat = x.reshape(-1, x.shape[-1]) @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]
        return flat.reshape(*x.shape[:-1], flat.shape[-1])

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """L2-normalized mean-pooled embeddings, one row per text."""
        with _one_blas_thread():
            out = [self._batch(list(texts[i: i + batch_size])) for i in range(0, len(texts), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.dim), dtype=np.float32)

    def _batch(self, texts: list[str]) -> np.ndarray:
        encs = self.tokenizer.encode_batch(texts)
        n = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), n), dtype=np.int64)
        mask = np.zeros((len(encs), n), dtype=np.float32)
        types = np.zeros((len(encs), n), dtype=np.int64)
        for i, e in enumerate(encs):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1.0
            types[i, : len(e.type_ids)] = e.type_ids
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n][None]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        b, hd = len(encs), self.dim // self.heads
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def heads(t: np.ndarray) -> np.ndarray:
                return t.reshape(b, n, self.heads, hd).transpose(0, 2, 1, 3)

            q = heads(self._dense(x, f"{p}.attention.self.query"))
            k = heads(self._dense(x, f"{p}.attention.self.key"))
            v = heads(self._dense(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            ctx = (scores / scores.sum(-1, keepdims=True)) @ v
            ctx = ctx.transpose(0, 2, 1, 3).reshape(b, n, self.dim)
            x = _layer_norm(self._dense(ctx, f"{p}.attention.output.dense") + x,
                            w[f"{p}.attention.output.LayerNorm.weight"], w[f"{p}.attention.output.LayerNorm.bias"],
                            self.eps)
            h = _gelu(self._dense(x, f"{p}.intermediate.dense"))
            x = _layer_norm(self._dense(h, f"{p}.output.dense") + x,
                            w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], self.eps)
        pooled = (x * mask[..., None]).sum(1) / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)


def load(path: str | Path) -> BertEncoder | None:
    """The numpy encoder of a sentence-transformers directory, or None when it is not a plain
    BERT + mean pooling + normalize model with safetensors weights and a tokenizer.json."""
    root = Path(path)
    try:
        modules = json.loads((root / "modules.json").read_text())
        config = json.loads((root / "config.json").read_text())
        pooling = json.loads((root / "1_Pooling" / "config.json").read_text())
        st_conf = json.loads((root / "sentence_bert_config.json").read_text())
    except (OSError, ValueError):
        return None
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    plain = (kinds == ["Transformer", "Pooling", "Normalize"] and config.get("model_type") == "bert"
             and config.get("hidden_act") == "gelu" and config.get("position_embedding_type", "absolute") == "absolute"
             and pooling.get("pooling_mode_mean_tokens") and not any(
                 pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                          "pooling_mode_mean_sqrt_len_tokens")))
    if not plain or not (root / "model.safetensors").is_file() or not (root / "tokenizer.json").is_file():
        return None
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    weights = {k.removeprefix("bert."): v.astype(np.float32, copy=False)
               for k, v in load_file(str(root / "model.safetensors")).items()}
    if "embeddings.word_embeddings.weight" not in weights:
        return None
    tok = Tokenizer.from_file(str(root / "tokenizer.json"))
    max_len = min(int(st_conf.get("max_seq_length", 256)), int(config.get("max_position_embeddings", 512)))
    tok.enable_truncation(max_len)
    tok.no_padding()
    log.info("numpy BERT encoder loaded from %s", root)
    return BertEncoder(weights, config, tok, max_len)
