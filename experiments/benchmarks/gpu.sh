#!/usr/bin/env bash
# The device benchmarks in one prepared run, for a session lent a GPU (about 10 minutes on an H100):
# install the CUDA extra, check JAX sees the GPU, then the propagation, network and optimizer benchmarks,
# each writing experiments/results/<name>.<gpu>.json beside the CPU files (placement.results.save_benchmark
# names them by the device). Time limits keep each stage inside the budget; a stage that runs out leaves
# the others' files. Usage, from the repository root:  bash experiments/benchmarks/gpu.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
if [ ! -x "$PY" ]; then
    python3 -m venv .venv && .venv/bin/pip install --quiet -e ".[dev,gpu]"
else
    "$PY" -m pip install --quiet -e ".[dev,gpu]"
fi
"$PY" -c "import jax; d = jax.devices()[0]; print('device:', d.platform, d.device_kind); assert d.platform == 'gpu'" \
    || { echo "no GPU visible to JAX: stopping"; exit 1; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
# Propagation: repeats 3, the 10,000-satellite week included (the GPU's case).
timeout 150 "$PY" experiments/benchmarks/propagation.py --repeats 3
# Network: a day at 15 s steps, the real catalog's 240 steps, scipy on 8 steps (CPU reference).
timeout 240 "$PY" experiments/benchmarks/network.py
# Optimizers: family 4 (Starlink Gen1 x 1,000 cities x 10 models x 24 epochs) is the GPU's case; the small
# families are CPU-bound (HiGHS) and stay in the CPU file. The LP bound is capped at 60 s.
timeout 200 "$PY" experiments/benchmarks/optimizers.py --families 4 --lp-limit 60
ls -l experiments/results/*.json
