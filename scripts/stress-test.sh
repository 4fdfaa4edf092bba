#!/usr/bin/env bash
# Proof of stability: one fresh clone, one install, then the pytest suite N times in a row,
# optionally with a CPU hog beside it to surface timing races an idle machine hides.
#
#   scripts/stress-test.sh [-n RUNS] [--load] [--keep] [-- PYTEST_ARGS...]
#
#   -n RUNS   how many consecutive runs (default 5)
#   --load    run `stress-ng --cpu $(nproc)` beside every run (installed from Debian as root)
#   --keep    keep the clone and its logs (default: kept only when a run fails)
#
# The clone is taken from this checkout's HEAD (commit first: uncommitted changes are not
# tested). Stops at the first red run and prints where its log is. Safe to run twice.
set -euo pipefail

runs=5
load=0
keep=0
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) runs="$2"; shift 2 ;;
    --load) load=1; shift ;;
    --keep) keep=1; shift ;;
    --) shift; pytest_args=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$runs" in ''|*[!0-9]*) echo "-n needs a positive number, got '$runs'" >&2; exit 2 ;; esac

src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/guiagent-stress.XXXXXX)"
hog=""
cleanup() {
  if [ -n "$hog" ]; then kill "$hog" 2>/dev/null || true; wait "$hog" 2>/dev/null || true; fi
}
trap cleanup EXIT

if [ "$load" = 1 ] && ! command -v stress-ng >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing stress-ng"
    apt-get install -y -qq --no-install-recommends stress-ng >/dev/null \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends stress-ng >/dev/null; }
  else
    echo "--load needs stress-ng (apt-get install stress-ng as root)" >&2; exit 2
  fi
fi

echo "fresh clone of $(git -C "$src" rev-parse --short HEAD) in $work/repo"
git clone -q "$src" "$work/repo"
cd "$work/repo"
echo "installing (make install) ..."
make install > "$work/install.log" 2>&1 || { echo "install failed: $work/install.log" >&2; exit 1; }

passed=0
for i in $(seq 1 "$runs"); do
  if [ "$load" = 1 ]; then
    stress-ng --cpu "$(nproc)" --timeout 7200s --quiet &
    hog=$!
  fi
  log="$work/run-$i.log"
  start=$(date +%s)
  if .venv/bin/python -m pytest -p no:cacheprovider "${pytest_args[@]}" > "$log" 2>&1; then
    passed=$((passed + 1))
    echo "run $i/$runs: green in $(( $(date +%s) - start )) s ($(tail -n 1 "$log" | tr -d '='))"
  else
    echo "run $i/$runs: RED after $(( $(date +%s) - start )) s; log: $log"
    grep -E "^(FAILED|ERROR) " "$log" || tail -n 30 "$log"
    keep=1
  fi
  cleanup
  hog=""
  [ "$keep" = 1 ] && [ "$passed" -lt "$i" ] && break
done

echo "$passed of $runs consecutive runs green$([ "$load" = 1 ] && echo " under load (stress-ng --cpu $(nproc))")"
if [ "$keep" = 1 ]; then echo "clone and logs kept in $work"; else rm -rf "$work"; fi
[ "$passed" = "$runs" ]
