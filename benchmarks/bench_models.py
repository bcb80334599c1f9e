"""Model speed on CPU, forward + backward, each figure against a baseline in the same run.

1. Our ``gpt2`` vs Hugging Face's ``GPT2LMHeadModel`` at the same tiny config (12 x 64,
   4 heads, MLP 256, vocab 512), batch 32 x 64 tokens: tokens/s and the ratio
   ours / HF (target >= 1.0). The two take turns in every round; best round kept.
2. The tiny presets at that batch: milliseconds per forward + backward step and the
   ratio to ``gpt2`` (target for ``hyena``: <= 1.3), with ``h3*18`` (18 H3 layers at
   the tiny conv width) for the other convolutional mixer.
3. A Hyena block vs an attention block (pre-norm mixer + MLP 4x, same width 128,
   attention with 2 heads, Hyena with the paper's filter settings), batch 1, at
   L = 512 .. 16384: seconds per step and the ratio Hyena / attention (target < 0.5 by
   L = 8192: O(L log L) against O(L^2)). A length is skipped, and said so, when the
   attention step at the previous length predicts more than ``--budget`` seconds.

    python3 benchmarks/bench_models.py [--threads 1] [--rounds 5] [--max-len 16384]
                                       [--budget 60] [--json PATH]
    python3 benchmarks/bench_models.py --baseline-src OTHER_CHECKOUT/src [--rounds 20]
                                       [--presets gpt2 hyena thex-13 base_conv]

``--baseline-src`` replaces 1-3 by old vs new: the tiny presets' step (2.) with another
checkout's ``src`` and with this one's, each in its own worker process (as
``bench_generate.py --baseline-src`` runs the other checkout with its own ``src`` on the
path), the two taking turns step by step so that machine load hits both alike. Medians
of the worker thread's CPU time (``time.thread_time``, less moved by other processes
than wall time) and of wall time; the ratio old / new per preset, new / gpt2, and
whether the first loss is bit-identical old vs new.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

# Benchmark this checkout's code, not whatever ``lolameme`` happens to be installed; an
# A/B worker is told (by ``SRC_ENV``) which checkout's ``src`` it times.
SRC_ENV = "LOLAMEME_BENCH_SRC"
THIS_SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, os.environ.get(SRC_ENV) or str(THIS_SRC))

from lolameme._io import atomic_write_json  # noqa: E402
from lolameme.models import MIXERS, build_model, get_scale  # noqa: E402
from lolameme.models.block import Block  # noqa: E402

VOCAB, BATCH, LENGTH = 512, 32, 64
TINY_PRESETS = ("gpt2", "hyena", "thex-13", "base_conv", "h3*18")


def step_time(step: Callable[[], float]) -> float:
    """Seconds for one call of ``step`` (which runs forward and backward)."""
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def lm_step(model: torch.nn.Module, ids: torch.Tensor, hf: bool = False) -> Callable[[], float]:
    """One forward + backward step of ``model`` on ``ids``; it returns the loss."""

    def step() -> float:
        model.zero_grad(set_to_none=True)
        logits = model(ids).logits if hf else model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
        loss.backward()
        return loss.item()

    return step


def bench_gpt2_vs_hf(rounds: int) -> dict[str, Any]:
    import transformers

    torch.manual_seed(0)
    ours = build_model("gpt2", scale="tiny", vocab_size=VOCAB, max_seq_len=LENGTH)
    block = ours.blocks[0]
    config = transformers.GPT2Config(
        vocab_size=VOCAB,
        n_positions=LENGTH,
        n_embd=ours.config.embed_width,
        n_layer=len(ours.blocks),
        n_head=block.mixer.num_heads,
        n_inner=block.mlp.c_fc.out_features,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
    )
    hf = transformers.GPT2LMHeadModel(config)
    assert sum(p.numel() for p in hf.parameters()) == ours.num_parameters()
    ids = torch.randint(0, VOCAB, (BATCH, LENGTH), generator=torch.Generator().manual_seed(0))
    steps = {"ours": lm_step(ours, ids), "hf": lm_step(hf, ids, hf=True)}
    for step in steps.values():  # warm up
        step()
    best = {name: float("inf") for name in steps}
    for _ in range(rounds):  # take turns so machine load hits both alike
        for name, step in steps.items():
            best[name] = min(best[name], step_time(step))
    tokens = BATCH * LENGTH
    result = {f"{name}_tokens_per_s": tokens / t for name, t in best.items()}
    result["ratio_ours_over_hf"] = best["hf"] / best["ours"]
    result["attn_implementation"] = getattr(hf.config, "_attn_implementation", "?")
    return result


def tiny_steps(specs: tuple[str, ...] | list[str]) -> dict[str, Callable[[], float]]:
    """Step functions of the tiny presets, each model seeded alike (so old and new code
    start from the same weights where their initialisation agrees)."""
    ids = torch.randint(0, VOCAB, (BATCH, LENGTH), generator=torch.Generator().manual_seed(0))
    steps = {}
    for spec in specs:
        torch.manual_seed(0)
        model = build_model(spec, scale="tiny", vocab_size=VOCAB, max_seq_len=LENGTH)
        steps[spec] = lm_step(model, ids)
    return steps


def bench_tiny_presets(rounds: int) -> dict[str, float]:
    steps = tiny_steps(TINY_PRESETS)
    for step in steps.values():  # warm up
        step()
    best = {spec: float("inf") for spec in steps}
    for _ in range(rounds):
        for spec, step in steps.items():
            best[spec] = min(best[spec], step_time(step))
    return {spec: t * 1000 for spec, t in best.items()}


def ab_worker(specs: list[str]) -> None:
    """Worker of the A/B run: print the first (warm-up) loss of every preset as one JSON
    line, then for every preset named on stdin run one step and print its CPU seconds
    (this thread) and wall seconds."""
    steps = tiny_steps(specs)
    print(json.dumps({spec: step() for spec, step in steps.items()}), flush=True)
    for line in sys.stdin:
        step = steps[line.strip()]
        cpu, wall = time.thread_time(), time.perf_counter()
        step()
        print(json.dumps([time.thread_time() - cpu, time.perf_counter() - wall]), flush=True)


def bench_ab(baseline_src: Path, specs: list[str], rounds: int, threads: int) -> dict[str, Any]:
    """Old (``baseline_src``) vs new (this checkout) in two workers taking turns each step."""
    command = [sys.executable, __file__, "--ab-worker", "--threads", str(threads)]
    workers = {
        label: subprocess.Popen(
            [*command, "--presets", *specs],
            env={**os.environ, SRC_ENV: str(src), "PYTHONPATH": str(src)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for label, src in (("old", baseline_src.resolve()), ("new", THIS_SRC))
    }

    def read(label: str) -> Any:
        line = workers[label].stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit(f"error: the {label} worker stopped (its traceback is above)")
        return json.loads(line)

    first_loss = {label: read(label) for label in workers}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {
        (label, spec): [] for label in workers for spec in specs
    }
    for round_ in range(rounds):
        for spec in specs:
            order = list(workers) if (round_ + specs.index(spec)) % 2 else list(workers)[::-1]
            for label in order:  # one step at a time: never both workers at once
                workers[label].stdin.write(spec + "\n")  # type: ignore[union-attr]
                workers[label].stdin.flush()  # type: ignore[union-attr]
                times[label, spec].append(tuple(read(label)))
    for worker in workers.values():
        worker.stdin.close()  # type: ignore[union-attr]
        worker.wait()
    median_ms = {
        key: [1000 * statistics.median(t[i] for t in runs) for i in (0, 1)]
        for key, runs in times.items()
    }
    return {
        spec: {
            "old_cpu_ms": median_ms["old", spec][0],
            "new_cpu_ms": median_ms["new", spec][0],
            "old_wall_ms": median_ms["old", spec][1],
            "new_wall_ms": median_ms["new", spec][1],
            "first_loss_identical": first_loss["old"][spec] == first_loss["new"][spec],
        }
        for spec in specs
    }


def print_ab(baseline_src: Path, specs: list[str], rounds: int, threads: int) -> dict:
    print(
        f"old ({baseline_src}) vs new ({THIS_SRC}): tiny presets, fwd+bwd, batch "
        f"{BATCH} x {LENGTH}, medians of {rounds} rounds taking turns step by step"
    )
    ab = bench_ab(baseline_src, specs, rounds, threads)
    print(
        f"  {'spec':<10} {'CPU ms old / new':>18} {'old/new':>7} {'wall ms old / new':>19}"
        f" {'old/new':>7} {'new/gpt2':>8}  first loss identical"
    )
    gpt2 = ab.get("gpt2", {}).get("new_cpu_ms")
    for spec, r in ab.items():
        vs_gpt2 = f"{r['new_cpu_ms'] / gpt2:8.2f}" if gpt2 else f"{'-':>8}"
        print(
            f"  {spec:<10} {r['old_cpu_ms']:8.1f} / {r['new_cpu_ms']:7.1f}"
            f" {r['old_cpu_ms'] / r['new_cpu_ms']:6.2f}x"
            f" {r['old_wall_ms']:8.1f} / {r['new_wall_ms']:8.1f}"
            f" {r['old_wall_ms'] / r['new_wall_ms']:6.2f}x {vs_gpt2}  {r['first_loss_identical']}"
        )
    return ab


def make_block(mixer: str, width: int, length: int) -> Block:
    kwargs: dict[str, Any] = {"num_heads": 2} if mixer == "attention" else {}
    if mixer == "hyena":
        kwargs = dict(get_scale("paper").defaults("hyena").kwargs)
    torch.manual_seed(0)
    return Block(MIXERS[mixer](width, 0, 1, l_max=length, **kwargs), 4 * width, d_in=width)


def block_step(block: Block, x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        block.zero_grad(set_to_none=True)
        block(x).square().mean().backward()

    return step


def bench_blocks(width: int, lengths: list[int], rounds: int, budget: float) -> list[dict]:
    rows: list[dict[str, Any]] = []
    predicted = 0.0
    for length in lengths:
        if predicted > budget:
            print(f"  L={length}: skipped, attention step predicted ~{predicted:.0f} s > budget")
            rows.append({"length": length, "skipped": True})
            continue
        x = torch.randn(1, length, width, generator=torch.Generator().manual_seed(0))
        steps = {m: block_step(make_block(m, width, length), x) for m in ("attention", "hyena")}
        best = {m: step_time(step) for m, step in steps.items()}  # warm-up round counts too
        reps = max(1, min(rounds, int(budget / (4 * max(best.values())))))
        for _ in range(reps):
            for m, step in steps.items():
                best[m] = min(best[m], step_time(step))
        row = {
            "length": length,
            "attention_s": best["attention"],
            "hyena_s": best["hyena"],
            "ratio_hyena_over_attention": best["hyena"] / best["attention"],
            "rounds": reps + 1,
        }
        rows.append(row)
        print(
            f"  L={length:>6}  attention {best['attention']:8.3f} s  hyena {best['hyena']:8.3f} s"
            f"  ratio {row['ratio_hyena_over_attention']:.2f}  (best of {reps + 1})"
        )
        predicted = 4.2 * best["attention"]  # quadratic: doubling L quadruples attention
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--max-len", type=int, default=16384)
    parser.add_argument("--budget", type=float, default=60.0, help="max seconds per step")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument(
        "--baseline-src", type=Path, help="another checkout's src: old vs new instead of 1-3"
    )
    parser.add_argument(
        "--presets", nargs="+", default=list(TINY_PRESETS), help="for --baseline-src"
    )
    parser.add_argument("--ab-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.ab_worker:
        ab_worker(args.presets)
        return
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {platform.processor() or '?'}, "
        f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    results: dict[str, Any] = {"threads": args.threads, "torch": torch.__version__}
    if args.baseline_src:
        results["old_vs_new"] = print_ab(args.baseline_src, args.presets, args.rounds, args.threads)
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
        if args.json:
            atomic_write_json(args.json, results)
        return

    print(f"\n1. gpt2 tiny, ours vs HF GPT2LMHeadModel, fwd+bwd, batch {BATCH} x {LENGTH}")
    results["gpt2_vs_hf"] = r = bench_gpt2_vs_hf(args.rounds)
    print(
        f"  ours {r['ours_tokens_per_s']:,.0f} tok/s  HF {r['hf_tokens_per_s']:,.0f} tok/s"
        f"  (HF attention: {r['attn_implementation']})"
        f"\n  ratio ours / HF = {r['ratio_ours_over_hf']:.2f}  (target >= 1.0)"
    )

    print(f"\n2. tiny presets, fwd+bwd, batch {BATCH} x {LENGTH}, vocab {VOCAB}")
    results["tiny_presets_ms"] = tiny = bench_tiny_presets(args.rounds)
    for spec, ms in tiny.items():
        print(f"  {spec:<10} {ms:8.1f} ms/step  {ms / tiny['gpt2']:5.2f}x gpt2")

    lengths = [n for n in (512, 1024, 2048, 4096, 8192, 16384) if n <= args.max_len]
    print(f"\n3. hyena block vs attention block, width {args.width}, batch 1, fwd+bwd")
    results["blocks"] = bench_blocks(args.width, lengths, args.rounds, args.budget)
    done = [row for row in results["blocks"] if not row.get("skipped")]
    at_8k = [row for row in done if row["length"] == 8192]
    if at_8k:
        print(
            f"  at L=8192: hyena / attention = {at_8k[0]['ratio_hyena_over_attention']:.2f}"
            "  (target < 0.5)"
        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    if args.json:
        atomic_write_json(args.json, results)


if __name__ == "__main__":
    main()
