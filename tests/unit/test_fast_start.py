"""What makes a cold `guiagent run` start fast without skipping anything: the guard's word
embeddings and the OCR's optimized ONNX graphs cached on disk (the same numbers as computed
afresh), and the early warm-up started from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grounding import ocr, semantic, warm


@pytest.mark.skipif(not semantic.available(), reason="the packaged MiniLM is not installed")
def test_preloaded_embeddings_are_the_ones_computed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIAGENT_CACHE_DIR", str(tmp_path))
    words = ["pay now", "delete account", "send"]
    first = semantic.Embedder()
    first.preload(words)
    files = list((tmp_path / "embeddings").glob("*.npy"))
    assert len(files) == 1
    fresh = semantic.Embedder()
    fresh.preload(words)  # from the file this time
    assert set(fresh._cache) == set(words)
    computed = semantic.Embedder().embed(words)
    assert np.allclose(np.stack([fresh._cache[w] for w in words]), computed, atol=1e-6)
    # another word list is another file, never a stale hit
    semantic.Embedder().preload([*words, "checkout"])
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 2


@pytest.mark.skipif(not semantic.available(), reason="the packaged MiniLM is not installed")
def test_a_damaged_embedding_file_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIAGENT_CACHE_DIR", str(tmp_path))
    semantic.Embedder().preload(["pay"])
    (path,) = (tmp_path / "embeddings").glob("*.npy")
    path.write_bytes(b"not numpy")
    again = semantic.Embedder()
    again.preload(["pay"])
    assert np.allclose(again._cache["pay"], semantic.Embedder().embed(["pay"])[0], atol=1e-6)
    assert np.load(path).shape == (1, 384)


@pytest.mark.skipif(not ocr.available(), reason="rapidocr/onnxruntime not installed")
def test_the_cached_optimized_graph_gives_the_same_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime as ort  # type: ignore[import-untyped]
    import rapidocr

    from grounding.ocr_load import _cached_session

    monkeypatch.setenv("GUIAGENT_CACHE_DIR", str(tmp_path))
    model = str(Path(rapidocr.__file__).parent / "models" / "PP-OCRv6_det_small.onnx")
    built = _cached_session(model, ort.SessionOptions(), ["CPUExecutionProvider"])
    (cached,) = (tmp_path / "onnx").glob("*.onnx")
    loaded = _cached_session(model, ort.SessionOptions(), ["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 3, 64, 96), dtype=np.float32)
    name = built.get_inputs()[0].name
    assert np.allclose(built.run(None, {name: x})[0], loaded.run(None, {name: x})[0], atol=1e-5)
    assert cached.stat().st_size > 1_000_000


def test_the_early_warm_up_starts_only_for_run() -> None:
    assert warm.start_for_argv([]) is None
    assert warm.start_for_argv(["demo"]) is None
    assert warm.start_for_argv(["run", "--help"]) is None
    assert warm.start_for_argv(["run", "--device"]) is None  # a bad command line: the real parser says so


@pytest.mark.skipif(not ocr.available(), reason="rapidocr/onnxruntime not installed")
def test_a_model_file_is_hashed_once_per_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import logging

    from rapidocr.utils.download_file import DownloadFile

    from grounding.ocr_load import _verified_once

    monkeypatch.setenv("GUIAGENT_CACHE_DIR", str(tmp_path / "cache"))
    checked = _verified_once(DownloadFile)
    model = tmp_path / "model.onnx"
    model.write_bytes(b"weights v1")
    digest = hashlib.sha256(b"weights v1").hexdigest()
    logger = logging.getLogger("test")
    assert checked._should_skip_download(model, digest, logger)
    assert len(list((tmp_path / "cache" / "verified").iterdir())) == 1
    assert checked._should_skip_download(model, digest, logger)  # the stamp answers
    model.write_bytes(b"weights v2, damaged")  # another size and time: hashed again, and it fails
    assert not checked._should_skip_download(model, digest, logger)
    assert not checked._should_skip_download(model, "0" * 64, logger)  # another digest never matches a stamp
