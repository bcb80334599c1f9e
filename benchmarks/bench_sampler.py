"""The LoLa/MeMe sampler alone: pure Python vs the compiled module, same process.

    python3 benchmarks/bench_sampler.py [--preset base] [--items 20000] [--rounds 5]

Draws ``--items`` training items through the generator's ``draw_unique`` (schedule,
dedupe, rows; no Parquet) with each implementation, alternating for ``--rounds`` rounds
and keeping each one's best CPU time, and checks that both drew the same rows.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import tempfile
import time
from pathlib import Path

from lolameme.data.generate import resolve_config
from lolameme.data.tasks import get_task
from lolameme.data.tasks.lolameme.compiled import PURE_ENV, compiled_sampler
from lolameme.data.tasks.lolameme.generator import _Context
from lolameme.data.tasks.lolameme.names import draw_names


def draw(ctx: _Context, items: int) -> tuple[float, list[tuple]]:
    """CPU seconds to draw ``items`` training items, and the rows."""
    rng, seen, rows = random.Random("0:train:0"), set(), []
    schedule = ctx.mandatory("train", 0, items)
    gc.disable()
    start = time.process_time()
    for item, mandatory in enumerate(schedule):
        key, row = ctx.draw_unique(rng, "train", item, seen, frozenset(), mandatory)
        seen.add(key)
        rows.append(row)
    seconds = time.process_time() - start
    gc.enable()
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="base")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if compiled_sampler() is None:
        raise SystemExit("no compiled sampler built (pip install -e . with a C compiler)")
    config = resolve_config(get_task("lolameme"), args.preset, {}, None)
    names = draw_names(config, config.seed)
    contexts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, pure in (("pure Python", "1"), ("compiled", "")):
            os.environ[PURE_ENV] = pure
            contexts[label] = _Context(config, names, Path(tmp))
        best = dict.fromkeys(contexts, float("inf"))
        for _ in range(args.rounds):
            drawn = {}
            for label, ctx in contexts.items():
                seconds, drawn[label] = draw(ctx, args.items)
                best[label] = min(best[label], seconds)
            assert drawn["pure Python"] == drawn["compiled"], "the two samplers differ"
    print(f"preset {args.preset}, {args.items} items, best of {args.rounds} rounds:")
    for label, seconds in best.items():
        print(f"  {label:>11}: {seconds / args.items * 1e6:6.1f} us per item (CPU)")
    print(f"  ratio pure / compiled: {best['pure Python'] / best['compiled']:.2f}x; same rows")


if __name__ == "__main__":
    main()
