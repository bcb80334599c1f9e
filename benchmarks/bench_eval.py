"""Evaluation and training speed on CPU: cached greedy decoding against full recompute.

Part 1 (the issue's target: 10,000 test items in under 30 s on a tiny model): the
complete text evaluation of ``lolameme eval`` (prompt encoding, one ``prefill`` per
batch over prompt + label that scores the label teacher-forced, greedy decoding with
``step`` from the prompt's state, exact match, metadata breakdown) on 10,000 items
of the generator's ``tiny`` preset (LoLa-like look-alikes when the generator is
missing). The model is untrained, so no row stops
early at ``<eos>``: every batch decodes to its label-derived limit, the worst case.
Wall and CPU seconds are printed: on a machine shared with other jobs, wall time
includes waiting for a core. The floor is one teacher-forced forward pass over the
same tokens in the same batches (what any evaluation must at least spend to read its
items); "eval/floor" is the ratio of their CPU seconds (target <= 1.5). The same
prompts are then decoded by the naive method (the whole sequence recomputed at every
generated token) on a subset, and the ratio of items/s is printed (both measured in this run).

Part 2: training tokens/s of tiny ``gpt2`` and tiny ``hyena`` (median of the logged
intervals after the first), through :func:`lolameme.training.train` itself.

    python3 benchmarks/bench_eval.py [--items 10000] [--naive-items 1000] [--threads 1]
                                     [--specs gpt2 hyena] [--train-steps 60]
                                     [--tokenizers bpe char]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from lolameme._io import atomic_directory
from lolameme.data.store import DatasetWriter
from lolameme.evaluation.decode import greedy_decode
from lolameme.evaluation.evaluate import evaluate_text
from lolameme.models import build_model
from lolameme.runs.batching import TextCodec
from lolameme.runs.tokenizer import train_tokenizer
from lolameme.training import TrainConfig, train

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _name(rng: random.Random) -> str:
    word = "".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 8)))
    return word[:1] + "".join(c.upper() if rng.random() < 0.3 else c for c in word[1:])


def _operand(rng: random.Random, assigned: list[str]) -> str:
    if assigned and rng.random() < 0.5:
        return rng.choice(assigned)
    return str(rng.randint(1, 100))


def lola_like(n: int, seed: int, statements: int = 5, pool: int = 42) -> pd.DataFrame:
    """Programs shaped like the ``tiny`` preset's: 5 statements, depth <= 2, operands
    1..100, names from a fixed pool of 42 (32 globals + 10 locals), about 118 characters.

    Only the shape matters here (lengths, characters, name reuse, which BPE merges);
    labels are random numbers of up to 6 characters.
    """
    rng = random.Random(seed)
    names = [_name(random.Random(f"name-{i}")) for i in range(pool)]
    rows = []
    for _ in range(n):
        chosen = rng.sample(names, statements)
        parts = []
        for i, name in enumerate(chosen):
            operands = chosen[:i] or [rng.choice(names)]
            expr = f"({_operand(rng, operands)} {rng.choice('+-*%')} {_operand(rng, operands)})"
            if rng.random() < 0.5:
                expr = _operand(rng, operands)  # plain copies and literals are common
            elif rng.random() < 0.3:
                expr = f"({expr} {rng.choice('+-*%')} {_operand(rng, operands)})"
            parts.append(f"{name} = {expr}")
        program = ";".join(parts) + f";print({rng.choice(chosen)})"
        rows.append({"program": program, "label": str(rng.randint(-9999, 99999)), "depth": 2})
    return pd.DataFrame(rows)


def load_items(n_test: int, root: Path) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The ``tiny`` preset from the real generator when it is installed, else look-alikes."""
    try:
        from lolameme.data.generate import generate
    except ImportError:
        return lola_like(4000, 0), lola_like(n_test, 1), "LoLa-like synthetic items"
    from lolameme.data.store import load_split

    per_split = -(-n_test // 2)
    data = generate("lolameme", "tiny", {"test_dataset_size": per_split}, root / "tiny", seed=0)
    tests = [load_split(data, s) for s in ("test_with_global", "test_without_global")]
    test = pd.concat(tests, ignore_index=True).iloc[:n_test]
    return load_split(data, "train"), test, "the generator's 'tiny' preset"


def teacher_forced_floor(
    model: torch.nn.Module,
    prompts: list[list[int]],
    answers: list[list[int]],
    batch_size: int,
) -> tuple[float, float]:
    """Wall and CPU seconds of one forward pass over every item's prompt + label tokens,
    batched as the evaluation batches them: no evaluation can read its items for less.

    The groups, order and padding are those of :func:`lolameme.evaluation.decode.decode`
    (equal prompt lengths, labels sorted by length, right-padded), so the floor sees
    exactly the tensors the evaluation's prefill sees, and nothing else: no decoding
    step, no loss, no bookkeeping.
    """
    groups: dict[int, list[int]] = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(len(prompt), []).append(i)
    batches = []
    for length in sorted(groups):
        members = sorted(groups[length], key=lambda i: len(answers[i]))
        for start in range(0, len(members), batch_size):
            chunk = members[start : start + batch_size]
            width = max(len(answers[i]) for i in chunk)
            rows = [[*prompts[i], *answers[i], *[0] * (width - len(answers[i]))] for i in chunk]
            batches.append(torch.tensor([row[:-1] for row in rows]))
    start, cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for inputs in batches:
            model(inputs)
    return time.perf_counter() - start, time.process_time() - cpu


def bench_decoding(args: argparse.Namespace, root: Path) -> None:
    train_frame, test_frame, source = load_items(args.items, root)
    print(f"items: {source}")
    for kind, vocab in (("bpe", 512), ("char", None)):
        if kind not in args.tokenizers:
            continue
        tokenizer = train_tokenizer(kind, [*train_frame.program, *train_frame.label], vocab)
        codec = TextCodec(tokenizer)
        max_new = 2 * max(len(a) for a in codec.answers(list(train_frame.label)))
        prompts = codec.prompts(list(test_frame.program))
        longest = max(len(p) for p in prompts) + max_new
        print(
            f"\n[{kind}] {args.items} items, prompt tokens {min(map(len, prompts))}-"
            f"{max(map(len, prompts))}, answers up to {max_new} tokens, vocab "
            f"{tokenizer.vocab_size}"
        )
        answers = codec.answers(list(test_frame.label))
        print(
            f"{'model':8} {'eval wall s':>11} {'eval cpu s':>10} {'floor wall s':>12} "
            f"{'floor cpu s':>11} {'eval/floor':>10} {'cached it/s':>12} "
            f"{'naive it/s':>11} {'ratio':>6}"
        )
        for spec in args.specs:
            torch.manual_seed(0)
            model = build_model(
                spec, scale="tiny", vocab_size=tokenizer.vocab_size, max_seq_len=longest
            ).eval()
            device = torch.device("cpu")
            start, cpu = time.perf_counter(), time.process_time()
            evaluate_text(
                model, codec, test_frame, max_new_tokens=max_new, batch_size=256, device=device
            )
            full, cpu = time.perf_counter() - start, time.process_time() - cpu
            floor, floor_cpu = teacher_forced_floor(model, prompts, answers, batch_size=256)
            subset = prompts[: args.naive_items]
            rates = {}
            for cached in (True, False):
                start = time.perf_counter()
                greedy_decode(
                    model, subset, max_new_tokens=max_new, eos_id=codec.eos_id,
                    batch_size=256, cached=cached,
                )  # fmt: skip
                rates[cached] = len(subset) / (time.perf_counter() - start)
            ratio = rates[True] / rates[False]
            print(
                f"{spec:8} {full:11.1f} {cpu:10.1f} {floor:12.1f} {floor_cpu:11.1f} "
                f"{cpu / floor_cpu:10.2f} {rates[True]:12.0f} {rates[False]:11.0f} {ratio:6.1f}"
            )


def bench_training(args: argparse.Namespace) -> None:
    print(f"\ntraining, {args.train_steps} steps, batch 64, bpe 512, 4000 LoLa-like items")
    print(f"{'model':8} {'tokens/s':>9} {'params':>9}")
    with tempfile.TemporaryDirectory() as root:
        data = Path(root) / "data"
        with atomic_directory(data) as tmp:
            writer = DatasetWriter(tmp)
            writer.write_shard("train", 0, lola_like(4000, 0))
            writer.write_shard("test", 0, lola_like(100, 1))
            writer.finish(task="lolameme", format="text", config={}, seed=0)
        for spec in args.specs:
            config = TrainConfig(
                data=data, model=spec, scale="tiny", out=Path(root) / spec,
                steps=args.train_steps, batch_size=64, eval_every=0, eval_samples=0,
                log_every=10, threads=args.threads,
            )  # fmt: skip
            run = train(config, progress=False)
            events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
            rates = [e["tokens_per_s"] for e in events if e["type"] == "train"][1:]
            params = json.loads((run / "run.json").read_text())["num_parameters"]
            print(f"{spec:8} {statistics.median(rates):9.0f} {params:9d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--naive-items", type=int, default=1_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--specs", nargs="+", default=["gpt2", "hyena"])
    parser.add_argument("--train-steps", type=int, default=60)
    parser.add_argument("--tokenizers", nargs="+", default=["bpe", "char"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    print(f"torch {torch.__version__}, {args.threads} thread(s), load average {load:.1f}")
    with tempfile.TemporaryDirectory() as root:
        bench_decoding(args, Path(root))
    if args.train_steps > 0:
        bench_training(args)


if __name__ == "__main__":
    main()
