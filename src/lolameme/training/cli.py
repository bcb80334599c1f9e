"""``lolameme train``: the CLI face of :func:`lolameme.training.train`.

Every option defaults to ``None`` here so that only the flags a user typed are passed
on: :class:`TrainConfig` supplies the defaults, and ``--resume`` fills the untyped ones
from the run's saved config (``lolameme train --out RUN --resume`` is enough).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from lolameme.errors import ConfigError


def train_command(
    data: Path | None = typer.Option(None, "--data", help="Data set directory."),
    model: str | None = typer.Option(
        None, "--model", help="Model spec: gpt2, hyena, thex-13, 'attention*2', ..."
    ),
    out: Path = typer.Option(..., "--out", help="Run directory to create (or resume)."),
    scale: str | None = typer.Option(None, help="Model scale (smoke, tiny, ...). [tiny]"),
    steps: int | None = typer.Option(None, help="Optimiser steps (default: 1 epoch)."),
    epochs: float | None = typer.Option(None, help="Epochs instead of --steps."),
    stop_after: int | None = typer.Option(
        None, help="Stop this invocation at this step; --resume continues later."
    ),
    batch_size: int | None = typer.Option(None, help="Sequences per step and process. [64]"),
    lr: float | None = typer.Option(None, help="Peak learning rate. [1e-3]"),
    warmup: int | None = typer.Option(None, help="Warmup steps. [5% of steps]"),
    weight_decay: float | None = typer.Option(None, help="AdamW weight decay. [0.1]"),
    seed: int | None = typer.Option(None, help="Seed of init, batches and eval sample. [0]"),
    tie_embeddings: bool | None = typer.Option(
        None,
        "--tie-embeddings/--untie-embeddings",
        help="Share the LM head with the token embedding, as GPT-2. [tied]",
    ),
    init: str | None = typer.Option(
        None,
        help="Weight init: gpt2 (N(0, 0.02)), pytorch (each module's own) or scaled "
        "(N(0, 0.02 * sqrt(768 / fan_in))). [gpt2]",
    ),
    init_from: Path | None = typer.Option(
        None,
        "--init-from",
        help="Start from this run's latest weights (same model; its tokenizer and "
        "positions are reused) with a fresh optimiser: pretrain, then fine-tune.",
    ),
    device: str | None = typer.Option(None, help="auto, cpu or cuda. [auto]"),
    tokenizer: str | None = typer.Option(None, help="bpe or char (text data). [bpe]"),
    vocab_size: int | None = typer.Option(None, help="BPE vocabulary size. [512]"),
    loss: str | None = typer.Option(
        None, help="full (every next token) or answer (label + eos only). [full]"
    ),
    max_seq_len: int | None = typer.Option(None, help="Model positions. [longest item]"),
    eval_every: int | None = typer.Option(
        None, help="Steps between periodic evals; 0: end only. [steps/5]"
    ),
    eval_samples: int | None = typer.Option(
        None, help="Items per test split in periodic eval. [256]"
    ),
    checkpoint_every: int | None = typer.Option(None, help="[eval-every]"),
    log_every: int | None = typer.Option(None, help="Steps between metrics lines. [10]"),
    threads: int | None = typer.Option(None, help="torch CPU threads."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run in --out."),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="Also log to TensorBoard."),
    wandb: bool = typer.Option(False, "--wandb", help="Also log to Weights & Biases."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train a model spec on a generated data set; writes checkpoints and metrics to --out."""
    typed = dict(locals())  # first statement: exactly the options, nothing else
    from lolameme.training import TrainConfig, train
    from lolameme.training.run import RUN_JSON, read_run

    flags = ("resume", "overwrite", "tensorboard", "wandb", "quiet")
    given = {k: v for k, v in typed.items() if v is not None and k not in flags}
    given.update({k: True for k in flags[:-1] if typed[k]})
    settings: dict[str, Any] = {}
    if resume and (out / RUN_JSON).is_file():
        settings = dict(read_run(out)["config"])
        for flag in ("overwrite", "tensorboard", "wandb", "stop_after"):
            settings.pop(flag, None)
    settings.update(given)
    if "data" not in settings or "model" not in settings:
        raise ConfigError("--data and --model are required (unless --resume continues a run)")
    run_dir = train(TrainConfig(**settings), progress=not quiet)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line, not one per process
        typer.echo(f"run written to {run_dir}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
