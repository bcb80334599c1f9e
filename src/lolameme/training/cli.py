"""``lolameme train``: the CLI face of :func:`lolameme.training.train`.

A composition root, like the top-level CLI: it hands the loop its periodic evaluation
(:func:`lolameme.evaluation.evaluate.evaluate_frame`), the one import of ``evaluation``
the ``training`` package makes (``[tool.importlinter]`` in ``pyproject.toml``).

Every option defaults to ``None`` here so that only the flags a user typed are passed
on: :class:`TrainConfig` supplies the defaults, and ``--resume`` fills the untyped ones
from the run's saved config (``lolameme train --out RUN --resume`` is enough).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from lolameme._threads import threads_help
from lolameme.errors import ConfigError, TrainingError


def train_command(
    data: Path | None = typer.Option(
        None, "--data", help="Data set directory.  [required unless --resume]"
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Model spec: gpt2, hyena, thex-13, 'attention*2', 'my_pkg.mixers:Cls*2', "
        "'my_pkg.models:build' (docs/models.md).  [required unless --resume]",
    ),
    out: Path = typer.Option(..., "--out", help="Run directory to create (or resume)."),
    scale: str | None = typer.Option(None, help="Model scale (smoke, tiny, ...).  [default: tiny]"),
    steps: int | None = typer.Option(None, help="Optimiser steps.  [default: 1 epoch]"),
    epochs: float | None = typer.Option(None, help="Epochs instead of --steps."),
    stop_after: int | None = typer.Option(
        None, help="Stop this invocation at this step; --resume continues later."
    ),
    batch_size: int | None = typer.Option(
        None, help="Sequences per step and process.  [default: 64]"
    ),
    lr: float | None = typer.Option(None, help="Peak learning rate.  [default: 1e-3]"),
    warmup: int | None = typer.Option(None, help="Warmup steps.  [default: 5% of steps]"),
    weight_decay: float | None = typer.Option(None, help="AdamW weight decay.  [default: 0.1]"),
    filter_lr: float | None = typer.Option(
        None,
        help="Peak learning rate of the implicit long-convolution filters (Hyena, BaseConv), "
        "on the same warmup and decay; safari trains them with their own.  [default: --lr]",
    ),
    filter_weight_decay: float | None = typer.Option(
        None,
        help="Weight decay of those filters.  [default: 0, the model's rule, as safari]",
    ),
    seed: int | None = typer.Option(
        None, help="Seed of init, batches and eval sample.  [default: 0]"
    ),
    tie_embeddings: bool | None = typer.Option(
        None,
        "--tie-embeddings/--untie-embeddings",
        help="Share the LM head with the token embedding, as GPT-2.  [default: untied; "
        "tied at --scale paper]",
    ),
    init: str | None = typer.Option(
        None,
        help="Weight init: gpt2 (N(0, 0.02)), pytorch (each module's own) or scaled "
        "(N(0, 0.02 * sqrt(768 / fan_in))).  [default: pytorch; gpt2 at --scale paper]",
    ),
    init_from: Path | None = typer.Option(
        None,
        "--init-from",
        help="Start from this run's latest weights (same model; its tokenizer and "
        "positions are reused) with a fresh optimiser: pretrain, then fine-tune.",
    ),
    device: str | None = typer.Option(None, help="auto, cpu or cuda.  [default: auto]"),
    tokenizer: str | None = typer.Option(None, help="bpe or char (text data).  [default: bpe]"),
    vocab_size: int | None = typer.Option(None, help="BPE vocabulary size.  [default: 512]"),
    loss: str | None = typer.Option(
        None, help="full (every next token) or answer (label + eos only).  [default: full]"
    ),
    max_seq_len: int | None = typer.Option(None, help="Model positions.  [default: longest item]"),
    mixer_kwargs: str | None = typer.Option(
        None,
        "--mixer-kwargs",
        help="JSON: keyword arguments per mixer of the spec, over the scale's defaults, "
        'e.g. \'{"my_pkg.mixers:GatedDelta": {"d_state": 8}}\'.',
    ),
    eval_every: int | None = typer.Option(
        None, help="Steps between periodic evals; 0: end only.  [default: steps/5]"
    ),
    eval_samples: int | None = typer.Option(
        None, help="Items per test split in periodic eval.  [default: 256]"
    ),
    checkpoint_every: int | None = typer.Option(
        None, help="Steps between checkpoints.  [default: --eval-every]"
    ),
    log_every: int | None = typer.Option(None, help="Steps between metrics lines.  [default: 10]"),
    threads: int | None = typer.Option(
        None, help=threads_help(int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run in --out."),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="Also log to TensorBoard."),
    wandb: bool = typer.Option(
        False, "--wandb", help="Also log to Weights & Biases (WANDB_MODE=offline: no account)."
    ),
    wandb_project: str | None = typer.Option(
        None, help="wandb project.  [default: $WANDB_PROJECT, else lolameme]"
    ),
    wandb_name: str | None = typer.Option(
        None, help="wandb run name.  [default: $WANDB_NAME, else the --out folder's name]"
    ),
    wandb_group: str | None = typer.Option(
        None, help="wandb group (e.g. one per experiment).  [default: $WANDB_RUN_GROUP]"
    ),
    wandb_entity: str | None = typer.Option(
        None, help="wandb team or user.  [default: $WANDB_ENTITY, else your default]"
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train a model spec on a generated data set; writes checkpoints and metrics to --out."""
    typed = dict(locals())  # first statement: exactly the options, nothing else
    from lolameme.evaluation.evaluate import evaluate_frame
    from lolameme.models.cli import parse_mixer_kwargs
    from lolameme.runs.devices import check_device
    from lolameme.runs.directory import read_run
    from lolameme.runs.layout import RUN_JSON
    from lolameme.training import TrainConfig, train
    from lolameme.training.config import SAVED_BEFORE_DEFAULTS

    flags = ("resume", "overwrite", "tensorboard", "wandb", "quiet")
    given = {k: v for k, v in typed.items() if v is not None and k not in flags}
    given.update({k: True for k in flags[:-1] if typed[k]})
    if mixer_kwargs is not None:
        given["mixer_kwargs"] = parse_mixer_kwargs(mixer_kwargs)
    if device is not None:
        check_device(device)  # the line eval and predict print for the same typo
    settings: dict[str, Any] = {}
    if resume and not (out / RUN_JSON).is_file():
        what = "does not exist" if not out.exists() else "is not a lolameme run (no run.json)"
        raise TrainingError(f"cannot resume: {out} {what} (drop --resume to start a run)")
    if resume:
        settings = {**SAVED_BEFORE_DEFAULTS, **read_run(out)["config"]}
        for flag in ("overwrite", "tensorboard", "wandb", "stop_after"):
            settings.pop(flag, None)
    settings.update(given)
    if resume and "data" not in given and not Path(settings["data"]).is_dir():
        raise ConfigError(
            f"the run's data set {settings['data']} no longer exists; pass --data "
            "to resume on a copy of it"
        )
    if "data" not in settings or "model" not in settings:
        raise ConfigError("--data and --model are required (unless --resume continues a run)")
    run_dir = train(TrainConfig(**settings), progress=not quiet, evaluate=evaluate_frame)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line, not one per process
        typer.echo(f"run written to {run_dir}")


def register(app: typer.Typer) -> None:
    app.command("train", options_metavar="--data DIR --model SPEC --out DIR [OPTIONS]")(
        train_command
    )
