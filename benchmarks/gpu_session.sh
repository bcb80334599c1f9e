#!/bin/bash
# The GPU parts of the open issues, as one short command for a device session (about
# 9 minutes on one H100/H200; every part has its own timeout so that a slow one cannot
# eat the others). Run from the repository root on the GPU machine:
#
#   OUT=/some/dir bash benchmarks/gpu_session.sh
#
# What it measures and where the figures go:
#   1. issue 19, the GPU path: paper-scale training steps eager and compiled, batch 32
#      and 128 (benchmarks/bench_gpu_models.py; target hyena >= 0.6x gpt2's tokens/s);
#      -> docs/performance.md, "Paper-scale models on a GPU".
#   2. issue 14, part 4: the `small` scale's Table 1 cells sharing one GPU (six workers,
#      300 steps each, tagged so they stay apart from real cells): aggregate step time
#      against the estimate of docs/performance.md ("The `small` scale").
#   3. issue 17: the Mamba kernels path against the pure-PyTorch scan, if mamba-ssm is
#      importable there (it is not in the image; carry its wheel to run it).
# Python packages the image lacks (pydantic, faker) travel as wheels in .whl (see the
# device README): the install line below uses them when present.
set -o pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/src
OUT=${OUT:?set OUT to the folder that comes back}
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=$PWD/src:/tmp/site
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/device.txt"
python3 -c "import torch, lolameme; print('torch', torch.__version__)" 2>&1 | tee -a "$OUT/device.txt" || exit 1
timeout 60 python3 setup.py build_ext --inplace -q >"$OUT/build.txt" 2>&1  # compiled sampler

echo "== 1. paper-scale steps, eager and compiled"
timeout 270 python3 benchmarks/bench_gpu_models.py --batches 32,128 \
  --compile default,reduce-overhead --max-length 16384 --json "$OUT/gpu_models.json" 2>&1 \
  | tee "$OUT/gpu_models.txt"

echo "== 2. small-scale cells sharing the GPU"
start=$(date +%s)
timeout 180 python3 -m lolameme experiment run thex_variations --scale small \
  --out /tmp/small --device cuda --workers 6 --seeds 0 --tag gpu_probe \
  --models hyena,gpt2,thex-9,thex-11,thex-13,thex-15 --set train.steps=300 -q 2>&1 \
  | tee "$OUT/small.txt"
echo "wall_s=$(( $(date +%s) - start ))" | tee -a "$OUT/small.txt"
tar -C /tmp/small -czf "$OUT/small_cells.tgz" cells runs/*/metrics.jsonl runs/*/run.json 2>/dev/null

echo "== 3. Mamba kernels vs the pure scan"
if python3 -c "import mamba_ssm" 2>/dev/null; then
  timeout 60 python3 -m pytest -q tests/models/test_zoo_mixers.py -k mamba_kernel_path 2>&1 | tee "$OUT/mamba.txt"
else
  echo "mamba-ssm not importable: skipped" | tee "$OUT/mamba.txt"
fi
