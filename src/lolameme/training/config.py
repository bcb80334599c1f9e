"""The typed configuration of one training run (CLI flags and the Python API share it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lolameme.runs.devices import Device

# Fields that define what is being trained. A resume must keep them: changing one would
# silently continue a different experiment (other weights shape, other batches, other data).
IDENTITY_FIELDS = (
    "model",
    "scale",
    "tokenizer",
    "vocab_size",
    "loss",
    "max_seq_len",
    "seed",
    "batch_size",
    "tie_embeddings",
    "init",
    "mixer_kwargs",
    "init_from",
)


MAX_SEED = 2**32 - 1

# What a run whose run.json predates a field was trained with: the field's default of
# that time (later defaults follow the scale, see TrainConfig._scale_recipe).
SAVED_BEFORE_DEFAULTS: dict[str, object] = {"init": "gpt2", "tie_embeddings": True}


class TrainConfig(BaseModel):
    """Everything ``lolameme train`` needs; unknown keys are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: Path = Field(description="data set directory written by 'lolameme generate'")
    model: str = Field(
        description="model spec, e.g. gpt2, thex-13, 'attention*2', 'my_pkg.mixers:Cls*2', "
        "or a model builder 'my_pkg.models:build'"
    )
    mixer_kwargs: dict[str, dict[str, Any]] | None = Field(
        None, description="keyword arguments per mixer of the spec, over the scale's defaults"
    )
    out: Path = Field(description="run directory (tokenizer, checkpoints, metrics, eval)")
    scale: str = "tiny"
    steps: int | None = Field(None, ge=1, description="optimiser steps (default: 1 epoch)")
    epochs: float | None = Field(None, gt=0)
    stop_after: int | None = Field(
        None, ge=1, description="stop this invocation at this step (resume continues later)"
    )
    batch_size: int = Field(64, ge=1, description="sequences per step and process")
    lr: float = Field(1e-3, gt=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="cosine floor as a share of lr")
    warmup: int | None = Field(None, ge=0, description="warmup steps (default: 5% of steps)")
    weight_decay: float = Field(0.1, ge=0)
    # safari trains Hyena's implicit filter with its own lr and weight decay; None (the
    # default) leaves the filters in the model's groups, exactly as without these fields
    filter_lr: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="peak lr of the implicit long-convolution filters (Hyena, BaseConv), "
        "on the same warmup and decay; default: lr",
    )
    filter_weight_decay: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="weight decay of those filters; default: the model's rule (0, as safari)",
    )
    grad_clip: float = Field(1.0, gt=0)
    # numpy's legacy seeding, torch's and Python's all take 0 .. 2**32 - 1: outside it
    # one of them fails (a negative seed) or overflows, after the run directory is made
    seed: int = Field(0, ge=0, le=MAX_SEED)
    # None (not given) takes the scale's recipe: see _scale_recipe
    tie_embeddings: bool = Field(
        None, description="LM head shares the token embedding (GPT-2); default: tied at paper"
    )
    init: Literal["gpt2", "pytorch", "scaled"] = Field(
        None,
        description="weight init: GPT-2's N(0, 0.02), each module's PyTorch default, or "
        "GPT-2's rescaled to the width (N(0, 0.02 * sqrt(768 / fan_in))); default: gpt2 "
        "at paper, pytorch below",
    )
    init_from: Path | None = Field(
        None,
        description="start from this run's latest weights (same model; its tokenizer and "
        "positions are reused), with a fresh optimiser and schedule",
    )
    device: Device = "auto"  # the devices eval and predict take too
    tokenizer: Literal["bpe", "char"] = "bpe"
    vocab_size: int | None = Field(None, ge=8, description="BPE vocab (tokens data: >= data's)")
    loss: Literal["full", "answer"] = "full"
    max_seq_len: int | None = Field(None, ge=8, description="default: longest item, rounded up")
    eval_every: int | None = Field(None, ge=0, description="0: only at the end")
    eval_samples: int = Field(256, ge=0, description="items per test split in periodic eval")
    eval_batch_size: int = Field(256, ge=1)
    log_every: int = Field(10, ge=1)
    checkpoint_every: int | None = Field(None, ge=1, description="default: eval_every")
    threads: int | None = Field(None, ge=1, description="torch CPU threads")
    resume: bool = False
    overwrite: bool = False
    tensorboard: bool = False
    wandb: bool = False
    # Where wandb files the run; None leaves each to wandb's WANDB_* environment variables
    # (WANDB_PROJECT, WANDB_NAME, WANDB_RUN_GROUP, WANDB_ENTITY), then to our defaults:
    # project "lolameme", the run directory's name.
    wandb_project: str | None = None
    wandb_name: str | None = None
    wandb_group: str | None = None
    wandb_entity: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _scale_recipe(cls, data: Any) -> Any:
        """Init and head tying not given follow the scale: the paper's models keep GPT-2's
        N(0, 0.02) and tied head; below it (widths / 3 and less) PyTorch's init and an
        untied head learn much more in the same steps (docs/results/calibration.md,
        rounds 2-3), so that is what a plain ``lolameme train`` at ``tiny`` gets."""
        if not isinstance(data, dict):
            return data
        paper = str(data.get("scale") or "tiny").strip().lower() == "paper"
        filled = dict(data)
        if filled.get("init") is None:
            filled["init"] = "gpt2" if paper else "pytorch"
        if filled.get("tie_embeddings") is None:
            filled["tie_embeddings"] = paper
        return filled

    @model_validator(mode="after")
    def _steps_or_epochs(self) -> TrainConfig:
        if self.steps is not None and self.epochs is not None:
            raise ValueError("give steps or epochs, not both")
        if self.resume and self.overwrite:
            raise ValueError("give resume or overwrite, not both")
        return self

    def identity(self) -> dict[str, object]:
        """The identity fields as JSON values (paths as strings), comparable with a
        saved ``run.json``."""
        saved = self.to_json()
        return {name: saved[name] for name in IDENTITY_FIELDS}

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")
