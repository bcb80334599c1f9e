"""``RUN/metrics.jsonl`` (always), plus TensorBoard or wandb when asked for and installed.

Each line is one event: ``{"type": "train", "step", "loss", "lr", "tokens_per_s", ...}``
or ``{"type": "eval", "step", "splits": {name: {"loss", "em", ...}}}``. Lines are
appended and flushed one at a time; a resume first rewrites the file without the
events logged after the checkpoint it continues from, so the log tells one history.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lolameme._io import atomic_write_text
from lolameme.errors import ConfigError


def truncate_after(path: Path, step: int) -> None:
    """Keep only complete events of steps <= ``step`` (a crash may leave a partial line)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
            event_step = int(event.get("step", 0))
        except (ValueError, TypeError, AttributeError):  # a cut or damaged line is dropped
            continue
        if event_step <= step:
            kept.append(line)
    atomic_write_text(path, "".join(f"{line}\n" for line in kept))


def check_loggers(tensorboard: bool, wandb: bool) -> None:
    """Fail before training starts when an asked-for logger is not installed."""
    import importlib.util

    if tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "--tensorboard needs the 'tensorboard' package (pip install 'lolameme[tensorboard]')"
        )
    if wandb and importlib.util.find_spec("wandb") is None:
        raise ConfigError("--wandb needs the 'wandb' package (pip install 'lolameme[wandb]')")


class MetricsLog:
    """Writes events on the main process; a no-op elsewhere."""

    def __init__(
        self,
        path: Path,
        *,
        enabled: bool = True,
        tensorboard_dir: Path | None = None,
        wandb_config: dict[str, Any] | None = None,
        wandb_run: dict[str, str | None] | None = None,
    ) -> None:
        """``wandb_config`` (the run's config) turns wandb on; ``wandb_run`` names the run:
        ``project``, ``name``, ``group``, ``entity`` (see :func:`wandb_settings`)."""
        self.path = path
        self.enabled = enabled
        self._tb = None
        self._wandb = None
        if not enabled:
            return
        check_loggers(tensorboard_dir is not None, wandb_config is not None)
        starting = "tensorboard"
        try:
            if tensorboard_dir is not None:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(log_dir=str(tensorboard_dir))
            starting = "wandb"
            if wandb_config is not None:
                import wandb

                self._wandb = wandb.init(
                    **wandb_settings(**(wandb_run or {}), default_name=path.parent.name),
                    dir=str(path.parent),
                    config=wandb_config,
                    resume="allow",
                )
        except Exception as exc:  # no API key, no network, a bad project: the exception
            self.close()  # types vary by library version; the user needs the message
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            hint = " (WANDB_MODE=offline logs without an account)" if starting == "wandb" else ""
            raise ConfigError(f"--{starting}: {starting} could not start: {first}{hint}") from None

    def log(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as fh:
            fh.write(json.dumps(event, sort_keys=True) + "\n")
        scalars = _scalars(event)
        step = int(event["step"])
        if self._tb is not None:
            for key, value in scalars.items():
                self._tb.add_scalar(key, value, step)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log(scalars, step=step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def wandb_settings(
    project: str | None = None,
    name: str | None = None,
    group: str | None = None,
    entity: str | None = None,
    *,
    default_name: str | None = None,
) -> dict[str, str | None]:
    """``wandb.init`` arguments: a flag wins, then wandb's own environment variables
    (``WANDB_PROJECT``, ``WANDB_NAME``, ``WANDB_RUN_GROUP``, ``WANDB_ENTITY``), then the
    project ``lolameme`` and the run directory's name. ``WANDB_MODE=offline`` logs
    without an account (``wandb sync`` uploads later)."""
    env = os.environ.get
    return {
        "project": project or env("WANDB_PROJECT") or "lolameme",
        "name": name or env("WANDB_NAME") or default_name,
        "group": group or env("WANDB_RUN_GROUP"),
        "entity": entity or env("WANDB_ENTITY"),
    }


def _scalars(event: dict[str, Any]) -> dict[str, float]:
    """Flatten an event to ``{"train/loss": x, "eval/test_with_global/em": y, ...}``."""
    out: dict[str, float] = {}
    prefix = str(event.get("type", "train"))

    def walk(key: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{key}/{k}", v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)

    for key, value in event.items():
        if key not in ("type", "step"):
            walk(f"{prefix}/{key}", value)
    return out
