"""``lolameme quickstart``: the whole path on small defaults, in a few minutes on a CPU.

1. generate the data generator's ``tiny`` LoLa preset (the experiments' tiny data:
   plain assignments with 10 globals, 8,000 train items, 300 per test split) into
   ``OUT/data`` (kept and reused by later calls);
2. time a few training steps, then train a tiny model with :data:`RECIPE` for the step
   count that fills the time budget (a fixed count, so the schedule runs to its end);
3. evaluate every test split and print exact match beside the majority-label baseline
   (always answering the most common training label): EM means something only above it.

Everything lands in ``OUT``: ``data/`` and ``run/`` (checkpoints, metrics.jsonl,
eval.json, predictions-*.parquet), which ``lolameme train``/``eval`` can take over.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import typer

from lolameme._io import check_output_dir
from lolameme.data.store import MANIFEST
from lolameme.runs.layout import METRICS

PRESET = "tiny"
PROBE_STEPS = 30
TRAIN_SHARE = 0.85  # of the budget left after generating and probing; the rest is eval
MIN_STEPS = 50
# The tiny scale's recipe (docs/results/calibration.md), with PyTorch's init and an untied
# head: at tiny widths GPT-2's N(0, 0.02) starts the model nearly silent.
RECIPE: dict[str, Any] = {
    "batch_size": 32,
    "lr": 3e-3,
    "loss": "answer",
    "tokenizer": "bpe",
    "vocab_size": 512,
    "init": "pytorch",
    "tie_embeddings": False,
}
WARMUP_SHARE = 0.1


def _generate(data: Path, seed: int) -> None:
    from lolameme.data.generate import generate

    generate("lolameme", PRESET, None, data, seed=seed, workers=1)


def _is_quickstart(path: Path) -> bool:
    """An earlier quickstart's directory: its data set or its run is there."""
    return (path / "data" / "manifest.json").is_file() or (path / "run" / "run.json").is_file()


def _seconds_per_step(config: Any) -> float:
    """Time steps 10..PROBE_STEPS of a throwaway run (the first steps warm up)."""
    from lolameme.training import train

    probe = train(config, progress=False)
    try:
        events = [json.loads(x) for x in (probe / METRICS).read_text().splitlines()]
        elapsed = {e["step"]: e["elapsed_s"] for e in events if e["type"] == "train"}
        return (elapsed[PROBE_STEPS] - elapsed[10]) / (PROBE_STEPS - 10)
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def run_quickstart(
    out: str | Path,
    minutes: float = 3.0,
    *,
    model: str = "gpt2",
    seed: int = 0,
    threads: int | None = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate, train for about ``minutes``, evaluate; return the eval report."""
    from lolameme.evaluation import evaluate_run
    from lolameme.evaluation.evaluate import evaluate_frame
    from lolameme.training import TrainConfig, train

    started = time.perf_counter()
    out = Path(out)
    check_output_dir(out, is_ours=_is_quickstart, what="quickstart output", replace=False)
    data = out / "data"
    if not (data / MANIFEST).is_file():
        _generate(data, seed)
    common = dict(data=data, model=model, scale="tiny", seed=seed, threads=threads, **RECIPE)
    per_step = _seconds_per_step(
        TrainConfig(
            **common,
            out=out / ".probe",
            steps=PROBE_STEPS,
            eval_samples=0,
            log_every=10,
            overwrite=True,
        )  # fmt: skip
    )
    left = minutes * 60 - (time.perf_counter() - started)
    steps = max(MIN_STEPS, int(left * TRAIN_SHARE / per_step))
    config = TrainConfig(
        **common,
        out=out / "run",
        steps=steps,
        warmup=max(1, int(steps * WARMUP_SHARE)),
        eval_samples=0,
        overwrite=True,
    )
    run = train(config, progress=progress, evaluate=evaluate_frame)
    return evaluate_run(run, progress=progress, threads=threads)


def baselines(out: str | Path, splits: list[str]) -> dict[str, float]:
    """The majority-label baseline of each split of the quickstart's data."""
    from lolameme.experiments.cell import majority_baselines

    return majority_baselines(Path(out) / "data", tuple(splits))


def quickstart_command(
    out: Path = typer.Option(Path("quickstart"), "--out", help="Directory for data and run."),
    minutes: float = typer.Option(3.0, min=0.5, help="About how long the whole thing takes."),
    model: str = typer.Option("gpt2", help="Model spec (tiny scale)."),
    seed: int = typer.Option(0, help="Seed of data, initialisation and batches."),
    threads: int = typer.Option(
        1, min=1, help="torch CPU threads (1 is robust on a busy machine; see docs/training.md)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Generate a tiny LoLa data set, train a tiny model for a few minutes, print EM."""
    from lolameme.evaluation.cli import format_table

    started = time.perf_counter()
    report = run_quickstart(
        out, minutes, model=model, seed=seed, threads=threads, progress=not quiet
    )
    typer.echo(
        f"\n{model} (tiny) after {report['step']} steps, {time.perf_counter() - started:.0f} s"
    )
    typer.echo(format_table(report, baselines(out, list(report["splits"]))))
    typer.echo("majority: EM of always answering the most common training label")
    run, data = out / "run", out / "data"
    typer.echo(
        f"\noutputs: {run}/eval.json, {run}/predictions-*.parquet, {run}/metrics.jsonl"
        f"\nnext:    lolameme train --data {data} --model hyena --out {out}/hyena --steps "
        f"{report['step']} --threads 1 --lr 3e-3 --loss answer --batch-size 32"
        f"\n         lolameme eval {out}/hyena"
    )


def register(app: typer.Typer) -> None:
    app.command("quickstart")(quickstart_command)
