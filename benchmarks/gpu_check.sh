#!/usr/bin/env bash
# The GPU check, one command: the CUDA test suite (tests/cuda) and the GPU benchmark
# (benchmarks/throughput.py --device cuda), into a report folder. Installs nothing: run it in an
# environment where ganzoo and its test extra are installed (pip install -e ".[test]").
#
#   bash benchmarks/gpu_check.sh OUT_DIR [DEVICE]
#
# DEVICE defaults to cuda; `cpu` runs the same two steps on the CPU, the tests skipping (they need
# CUDA) and the benchmark downscaled (--quick): how this script is checked where no GPU exists.
# Writes OUT_DIR/report.md (pass/fail per item, the throughput table), OUT_DIR/pytest.txt,
# OUT_DIR/junit.xml and OUT_DIR/throughput-<device>.md. Budget: about 12 minutes on one modern GPU
# (6 for the tests, 4 for the benchmark, 2 for r3gan at 128 px streamed from a prepared dataset;
# each is cut off at its share and the report says so).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: bash benchmarks/gpu_check.sh OUT_DIR [cuda|cpu]}"
device="${2:-cuda}"
mkdir -p "$out"
py="${PYTHON:-python}"
started=$(date +%s)

"$py" - <<'PY' > "$out/device.txt" 2>&1
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
for i in range(torch.cuda.device_count()):
    print(i, torch.cuda.get_device_name(i), "bf16" if torch.cuda.is_bf16_supported() else "no bf16")
PY

timeout 360 "$py" -m pytest tests/cuda -q -rs -p no:cacheprovider --junitxml="$out/junit.xml" > "$out/pytest.txt" 2>&1
tests_rc=$?
bench_args=(--device "$device" --report "$out")
[ "$device" = "cpu" ] && bench_args+=(--quick)
timeout 270 "$py" benchmarks/throughput.py "${bench_args[@]}" > "$out/throughput.log" 2>&1
bench_rc=$?

# r3gan at 128 px, streamed from a prepared dataset: synthetic photos-sized images, prepared once,
# then trained with stream=on (batches gathered from the memory map, pinned, copied non-blocking).
stream_steps=60; stream_set=()
[ "$device" = "cpu" ] && { stream_steps=2; stream_set=(--set width=16 --set min_width=8 --set group_size=8 --batch-size 4); }
timeout 150 "$py" - "$out" <<'PY' > "$out/stream.log" 2>&1
import sys
from pathlib import Path

import numpy as np
from PIL import Image

folder = Path(sys.argv[1]) / "stream-src"
folder.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
for i in range(512):
    Image.fromarray(rng.integers(0, 255, (140, 150, 3), dtype=np.uint8)).save(folder / f"{i:04d}.jpg", quality=90)
PY
timeout 150 "$py" -m ganzoo prepare "$out/stream-src" -o "$out/stream-prep" --size 128 >> "$out/stream.log" 2>&1 &&
timeout 240 "$py" -m ganzoo run r3gan --data "$out/stream-prep" --set image_size=128 --set stream=on --device "$device" \
  --steps "$stream_steps" "${stream_set[@]}" --set sample_every=0 --set checkpoint_every=0 --out "$out/stream-run" >> "$out/stream.log" 2>&1
stream_rc=$?

verdict() { case "$1" in 0) echo pass ;; 124) echo "TIMED OUT" ;; *) echo "FAIL (exit $1)" ;; esac; }
{
  echo "# GPU check"
  echo
  echo "\`bash benchmarks/gpu_check.sh $out $device\`, $(date -u +%Y-%m-%dT%H:%MZ), $(( $(date +%s) - started )) s."
  echo
  echo '```'
  cat "$out/device.txt"
  echo '```'
  echo
  echo "| item | result |"
  echo "|---|---|"
  echo "| CUDA test suite (tests/cuda) | $(verdict $tests_rc): $(tail -n 1 "$out/pytest.txt") |"
  echo "| GPU benchmark (benchmarks/throughput.py ${bench_args[*]}) | $(verdict $bench_rc) |"
  echo "| r3gan 128 px streamed from a prepared dataset ($stream_steps steps) | $(verdict $stream_rc): $(grep -E '^trained' "$out/stream.log" | tail -n 1) |"
  echo
  echo "## Tests"
  echo
  echo '```'
  grep -E "^(FAILED|ERROR|SKIPPED)|passed|failed" "$out/pytest.txt" | head -80
  echo '```'
  echo
  for f in "$out"/throughput-*.md; do [ -f "$f" ] && { sed 's/^# /## /' "$f"; echo; }; done
  [ $bench_rc -ne 0 ] && { echo '```'; tail -n 30 "$out/throughput.log"; echo '```'; }
} > "$out/report.md"
cat "$out/report.md"
[ $tests_rc -eq 0 ] && [ $bench_rc -eq 0 ] && [ $stream_rc -eq 0 ]
