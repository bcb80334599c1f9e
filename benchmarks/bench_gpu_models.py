"""Paper-scale models on a GPU: training-step throughput and long-sequence scaling.

Run on a CUDA machine (the figures in docs/performance.md came from one H100):

    python3 benchmarks/bench_gpu_models.py [--json PATH]

1. ``gpt2``, ``hyena``, ``thex-13`` and ``thex-1`` at paper scale (vocab 50257), batch 32 x
   128 tokens (the paper's items are ~100 tokens), bf16 autocast, fused AdamW: ms per
   training step, tokens/s, peak memory; each ratio is against ``gpt2`` measured in the
   same run (at the same batch and compile mode). ``--batches 32,128`` adds larger
   batches; ``--compile default,reduce-overhead`` adds ``torch.compile``d rows of
   ``--compile-specs`` (``reduce-overhead`` uses CUDA graphs; the first steps, which
   compile, are not timed). Issue 19's target: hyena >= 0.6x gpt2's tokens/s.
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


def bench_training_step(spec: str, batch: int = BATCH, compile_mode: str = "") -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_model(spec, scale="paper", vocab_size=VOCAB, max_seq_len=1024).cuda()
    opt = torch.optim.AdamW(model.param_groups(0.1), lr=3e-4, fused=True)
    ids = torch.randint(0, VOCAB, (batch, LENGTH), device="cuda")
    forward = torch.compile(model, mode=compile_mode) if compile_mode else model

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = forward(ids)
        loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    if compile_mode:
        for _ in range(3):  # compilation (and CUDA-graph recording) is not timed
            step()
    torch.cuda.reset_peak_memory_stats()
    seconds = cuda_time(step)
    return {
        "spec": spec,
        "batch": batch,
        "compile": compile_mode or "eager",
        "params": model.num_parameters(),
        "ms_per_step": 1000 * seconds,
        "tokens_per_s": batch * LENGTH / seconds,
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


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--batches", default=str(BATCH), help="batch sizes of part 1, e.g. 32,128")
    parser.add_argument(
        "--compile",
        default="",
        help="torch.compile modes for extra rows, e.g. default,reduce-overhead",
    )
    parser.add_argument("--compile-specs", default="gpt2,hyena", help="models of the compiled rows")
    parser.add_argument("--max-length", type=int, default=65536, help="longest L of part 3")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("error: this benchmark needs a CUDA GPU")
    print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}")
    out: dict[str, Any] = {"device": torch.cuda.get_device_name()}
    runs = [
        (s, int(b), "") for b in _list(args.batches) for s in ("gpt2", "hyena", "thex-13", "thex-1")
    ]
    runs += [
        (s, int(b), mode)
        for mode in _list(args.compile)
        for b in _list(args.batches)
        for s in _list(args.compile_specs)
    ]
    out["training"] = []
    for spec, batch, mode in runs:
        try:
            out["training"].append(bench_training_step(spec, batch, mode))
        except Exception as exc:  # a compile mode that fails here is a finding, not a stop
            out["training"].append(
                {"spec": spec, "batch": batch, "compile": mode, "error": repr(exc)}
            )
            print(f"{spec} batch {batch} {mode}: {exc!r}", file=sys.stderr)
    print(f"\ntraining step, paper scale, {LENGTH} tokens per row, bf16 autocast, fused AdamW")
    print(
        f"{'spec':10} {'batch':>5} {'compile':>16} {'params':>8} {'ms/step':>8} {'tokens/s':>10} "
        f"{'vs gpt2':>8} {'peak GiB':>8}"
    )
    gpt2 = {
        (r["batch"], r["compile"]): r["tokens_per_s"]
        for r in out["training"]
        if r["spec"] == "gpt2" and "error" not in r
    }
    for r in out["training"]:
        if "error" in r:
            what = f"{r['spec']:10} {r['batch']:5d} {r['compile'] or 'eager':>16}"
            print(f"{what}  failed: {r['error'][:60]}")
            continue
        base = gpt2.get((r["batch"], r["compile"]))
        ratio = f"{r['tokens_per_s'] / base:8.2f}" if base else f"{'-':>8}"
        print(
            f"{r['spec']:10} {r['batch']:5d} {r['compile']:>16} {r['params'] / 1e6:7.1f}M "
            f"{r['ms_per_step']:8.1f} {r['tokens_per_s']:10,.0f} {ratio} {r['peak_gib']:8.1f}"
        )
    out["decoding"] = [check_decoding(s) for s in ("gpt2", "hyena", "thex-13")]
    print("\ndecoding checks (bf16 autocast)")
    for r in out["decoding"]:
        print(
            "  "
            + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else str(v) for k, v in r.items())
        )
    lengths = [n for n in (1024, 2048, 4096, 8192, 16384, 32768, 65536) if n <= args.max_length]
    out["scaling"] = bench_scaling(lengths)
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
