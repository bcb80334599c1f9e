"""File names of a training run's directory and of an experiment's, and result columns.

Plain names without imports, so that every layer (reporting included, which loads no
torch) takes them from here. A training run, written by ``lolameme train`` and
``lolameme eval`` (:mod:`lolameme.runs.directory` reads it back)::

    RUN/run.json          config, data fingerprint, model config, vocab and lengths
    RUN/tokenizer.json    text data only; trained on the train split
    RUN/checkpoints/      see lolameme.runs.checkpoint
    RUN/metrics.jsonl     one JSON object per log / eval event
    RUN/eval.json         written by lolameme eval
    RUN/predictions-SPLIT.parquet

An experiment: ``lolameme.experiments`` writes these files; ``lolameme.reporting`` reads only them,
never the training or model code, so a directory copied off a cluster can be reported
anywhere::

    DIR/results.parquet            one row per grid cell (the table every report starts from)
    DIR/specs/NAME--SCALE.json     the resolved experiment spec: layout of tables, figures,
                                   verdicts, the paper's numbers
    DIR/invocations.jsonl          one line per ``experiment run``: command, wall time
    DIR/cells/CELL_ID.json         per-cell bookkeeping (config at start, row at the end)
    DIR/runs/CELL_ID/              the training run of a cell (the layout above)
    DIR/data/HASH/                 generated data sets, shared by the cells that use them

The column names of metrics are built here, by :func:`metric_column`, so that the
writer and the reader cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

RUN_JSON = "run.json"
TOKENIZER = "tokenizer.json"
METRICS = "metrics.jsonl"
EVAL_JSON = "eval.json"

RESULTS_FILE = "results.parquet"
SPECS_DIR = "specs"
CELLS_DIR = "cells"
RUNS_DIR = "runs"
DATA_DIR = "data"
INVOCATIONS_FILE = "invocations.jsonl"
LOCK_FILE = f".{RESULTS_FILE}.lock"  # created first by every ``experiment run``: the marker

# Columns every results row has, whatever the experiment (axis columns come on top).
BASE_COLUMNS = (
    "experiment",
    "scale",
    "tag",
    "cell_id",
    "model",
    "model_spec",
    "seed",
    "status",
    "final_loss",
    "train_seconds",
    "eval_seconds",
    "n_params",
    "steps",
    "error",
    "fingerprint",
    "overrides",
    "run_dir",
    "data_dir",
    "finished_at",
)
# The item metadata of an eval.json breakdown (``by``) shown first, in this order: the
# language features the paper is about (columns the LoLa/MeMe generator writes).
BREAKDOWN_FIRST = (
    "dependency_depth",
    "globals_used",
    "noise_statements",
    "latent_mods",
    "max_depth",
    "n_statements",
    "language",
)
RESULTS_REQUIRED = ("experiment", "scale", "cell_id", "status")  # a results.parquet without
# them was not written by the runner
# The metrics a results row has (lolameme.experiments.cell.collect): per split, as
# METRIC_SPLIT columns, and per run, without a split. A test keeps them equal to cell.py's.
SPLIT_METRICS = (
    "em",
    "loss",
    "answer_loss",
    "token_accuracy",
    "ar_hits_loss",
    "ar_hits_acc",
    "other_loss",
    "other_acc",
    "baseline",
)
RUN_METRICS = ("final_loss", "n_params", "steps", "train_seconds", "eval_seconds")

OK = "ok"
FAILED = "failed"
INCOMPLETE = "incomplete"  # training stopped early on purpose (stop_after); resumes on rerun


def breakdown_order(fields: Iterable[str]) -> list[str]:
    """The breakdown fields to show, in order: ``BREAKDOWN_FIRST``'s first, then the rest
    by name."""
    return [f for f in BREAKDOWN_FIRST if f in fields] + sorted(set(fields) - set(BREAKDOWN_FIRST))


def metric_column(metric: str, split: str | None = None) -> str:
    """``em`` on ``test_with_global`` is the column ``em_test_with_global``.

    A metric without a split (``final_loss``, the last training loss) is its own column.
    """
    return f"{metric}_{split}" if split else metric


def spec_file(out: Path, experiment: str, scale: str) -> Path:
    return Path(out) / SPECS_DIR / f"{experiment}--{scale}.json"
