"""The numpy MiniLM (grounding.bert_np) gives sentence-transformers' embeddings, and the
semantic module runs on it (no torch import on the guard's path)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grounding import bert_np, semantic

pytestmark = pytest.mark.skipif(not semantic.available(), reason="packaged MiniLM not installed")

TEXTS = ["Pay now", "Checkout now", "click the Subscribe button", "=", "", "Ünïcödé naïve café ×",
         "delete every file in the folder and empty the trash " * 8, "OK"]


def test_numpy_embeddings_match_sentence_transformers() -> None:
    pytest.importorskip("sentence_transformers")
    from sentence_transformers import SentenceTransformer

    enc = bert_np.load(semantic.model_path())
    assert enc is not None
    ours = enc.encode(TEXTS)
    ref = SentenceTransformer(semantic.model_path(), device="cpu").encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.shape == ref.shape == (len(TEXTS), 384)
    cos = (ours * ref).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() >= 1 - 1e-4
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_directories_it_does_not_cover_are_left_to_sentence_transformers(tmp_path) -> None:
    assert bert_np.load(tmp_path) is None  # no modules.json
    src = Path(semantic.model_path())
    for name in ("modules.json", "config.json", "sentence_bert_config.json"):
        (tmp_path / name).write_text((src / name).read_text())
    (tmp_path / "1_Pooling").mkdir()
    pooling = json.loads((src / "1_Pooling" / "config.json").read_text()) | {"pooling_mode_cls_token": True,
                                                                           "pooling_mode_mean_tokens": False}
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert bert_np.load(tmp_path) is None  # CLS pooling: not this encoder's job


def test_guard_similarity_loads_without_torch() -> None:
    code = ("import sys; from grounding import semantic; "
            "s = float(semantic.similarity('Checkout now', ['pay', 'buy', 'checkout']).max()); "
            "print(s, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) > 0.78
    assert out[1:] == ["False", "False"]
