"""Paper-scale models on a GPU: training-step throughput and long-sequence scaling.

Run on a CUDA machine (the figures in docs/performance.md came from one H100):

    python3 benchmarks/bench_gpu_models.py [--json PATH]

1. ``gpt2``, ``hyena``, ``thex-13`` and ``thex-1`` at paper scale (vocab 50257), batch 32 x
   128 tokens (the paper's items are ~100 tokens), bf16 autocast, fused AdamW: ms per
   training step, tokens/s, peak memory; each ratio is against ``gpt2`` measured in the
   same run.
2. Checks that belong to the GPU path: incremental decoding (prefill + step) agrees with
   the full forward pass under bf16 autocast, and the bf16 forward stays close to fp32.
3. A Hyena block vs an attention block (width 864, batch 1) from L = 1024 to 65536:
   forward + backward time ratio per L, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lolameme.models import build_model  # noqa: E402
from lolameme.models.block import Block  # noqa: E402
from lolameme.models.mixers import MIXERS  # noqa: E402

VOCAB, BATCH, LENGTH = 50257, 32, 128


def cuda_time(fn, warmup: int = 3, iters: int = 10) -> float:
    """Mean seconds per call, with CUDA events after warm-up."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1000 / iters


def bench_training_step(spec: str) -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_model(spec, scale="paper", vocab_size=VOCAB, max_seq_len=1024).cuda()
    opt = torch.optim.AdamW(model.param_groups(0.1), lr=3e-4, fused=True)
    ids = torch.randint(0, VOCAB, (BATCH, LENGTH), device="cuda")

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    torch.cuda.reset_peak_memory_stats()
    seconds = cuda_time(step)
    return {
        "spec": spec,
        "params": model.num_parameters(),
        "ms_per_step": 1000 * seconds,
        "tokens_per_s": BATCH * LENGTH / seconds,
        "peak_gib": torch.cuda.max_memory_allocated() / 2**30,
    }


@torch.no_grad()
def check_decoding(spec: str) -> dict[str, float]:
    torch.manual_seed(0)
    model = build_model(spec, scale="paper", vocab_size=VOCAB, max_seq_len=1024).cuda().eval()
    ids = torch.randint(0, VOCAB, (4, 48), device="cuda")
    full32 = model(ids).float()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        full = model(ids).float()
        logits, state = model.prefill(ids[:, :40])
        steps = []
        for t in range(40, 48):
            step_logits, state = model.step(ids[:, t], state)
            steps.append(step_logits.float())
    stepped = torch.stack(steps[:-1], dim=1)  # logits at positions 40..46
    scale = full32.abs().max().item()
    return {
        "spec": spec,
        "prefill_vs_forward_max_abs": (logits.float() - full[:, :40]).abs().max().item(),
        "step_vs_forward_max_abs": (stepped - full[:, 40:47]).abs().max().item(),
        "bf16_vs_fp32_rel": (full - full32).abs().max().item() / scale,
        "argmax_agree": (stepped.argmax(-1) == full[:, 40:47].argmax(-1)).float().mean().item(),
    }


def bench_scaling(lengths: list[int]) -> list[dict[str, Any]]:
    rows = []
    width = 864
    blocks = {
        name: Block(
            MIXERS[name](width, 0, 1, l_max=max(lengths), **kw), 4 * width, d_in=width
        ).cuda()
        for name, kw in (("attention", {"num_heads": 12}), ("hyena", {}))
    }
    for length in lengths:
        x = torch.randn(1, length, width, device="cuda", requires_grad=True)
        row: dict[str, Any] = {"L": length}
        for name, block in blocks.items():

            def step(block=block, x=x) -> None:
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    y = block(x)
                y.float().sum().backward()

            row[name] = 1000 * cuda_time(step)
        row["ratio_hyena_over_attention"] = row["hyena"] / row["attention"]
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("error: this benchmark needs a CUDA GPU")
    print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}")
    out: dict[str, Any] = {"device": torch.cuda.get_device_name()}
    out["training"] = [bench_training_step(s) for s in ("gpt2", "hyena", "thex-13", "thex-1")]
    base = out["training"][0]["tokens_per_s"]
    print(f"\ntraining step, paper scale, batch {BATCH} x {LENGTH}, bf16 autocast, fused AdamW")
    print(
        f"{'spec':10} {'params':>8} {'ms/step':>8} {'tokens/s':>10} {'vs gpt2':>8} {'peak GiB':>8}"
    )
    for r in out["training"]:
        print(
            f"{r['spec']:10} {r['params'] / 1e6:7.1f}M {r['ms_per_step']:8.1f} "
            f"{r['tokens_per_s']:10,.0f} {r['tokens_per_s'] / base:8.2f} {r['peak_gib']:8.1f}"
        )
    out["decoding"] = [check_decoding(s) for s in ("gpt2", "hyena", "thex-13")]
    print("\ndecoding checks (bf16 autocast)")
    for r in out["decoding"]:
        print(
            "  "
            + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else str(v) for k, v in r.items())
        )
    out["scaling"] = bench_scaling([1024, 2048, 4096, 8192, 16384, 32768, 65536])
    print("\nblock fwd+bwd, width 864, batch 1, bf16: ms and ratio hyena / attention")
    for r in out["scaling"]:
        print(
            f"  L={r['L']:6d}  attention {r['attention']:8.2f}  hyena {r['hyena']:8.2f}"
            f"  ratio {r['ratio_hyena_over_attention']:.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
