#!/usr/bin/env bash
# GPU readiness benchmark, unattended, in one call (see bench/gpu_bench.py for what it measures):
#   bench/gpu.sh [OUT.json] [extra gpu_bench.py options, e.g. --compile]
# From the repository root of a GPU machine with xlpt installed. Data and tokenizer default to the shared
# layout beside the repository; override with XLPT_DATA_DIR and XLPT_TOKENIZER_DIR. BENCH_BUDGET (seconds,
# default 480) is shared out over the measurements; `timeout` stops everything at BENCH_BUDGET + 60 s, and the
# JSON holds whatever was measured by then. `bench/gpu.sh out.json --dry-run` checks it on CPU (tiny shapes).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-bench-gpu.json}"
shift || true
DATA="${XLPT_DATA_DIR:-../shared/data}"
TOKENIZER="${XLPT_TOKENIZER_DIR:-../shared/tokenizers/xlmr-250k}"
BUDGET="${BENCH_BUDGET:-480}"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python -c 'import torch, xlpt; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "xlpt", xlpt.__file__)'
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
timeout --signal=TERM --kill-after=10 "$((BUDGET + 60))" \
    python bench/gpu_bench.py --out "$OUT" --data-dir "$DATA" --tokenizer "$TOKENIZER" --budget "$BUDGET" "$@"
echo "wrote $OUT"
