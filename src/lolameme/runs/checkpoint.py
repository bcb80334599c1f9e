"""Checkpoints that survive a kill at any moment.

A checkpoint is a directory ``RUN/checkpoints/step-NNNNNNNN/`` holding

- ``model.safetensors``: the weights (``safetensors.torch.save_model`` stores a tied
  embedding/output matrix once and restores the tie on load);
- ``state.pt``: optimiser, schedule, sampler, step and RNG states (plain tensors and
  numbers, so ``torch.load(weights_only=True)`` reads it).

The directory is built under a hidden temporary name and renamed into place only when
both files are complete; then ``RUN/checkpoints/latest`` (one line, replaced
atomically) is pointed at it, and only then are older checkpoints removed. Whenever
the process dies, ``latest`` names a complete checkpoint, or, if the kill came between
the rename and the pointer update, the newest complete ``step-*`` directory is used.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import torch

from lolameme._io import atomic_directory, atomic_write_text
from lolameme.errors import TrainingError

CHECKPOINTS = "checkpoints"
LATEST = "latest"
WEIGHTS = "model.safetensors"
STATE = "state.pt"
_STEP_DIR = re.compile(r"^step-(\d{8})$")


def _complete(path: Path) -> bool:
    return (path / WEIGHTS).is_file() and (path / STATE).is_file()


def save_checkpoint(
    run_dir: Path, step: int, model: torch.nn.Module, state: dict[str, Any], keep: int = 1
) -> Path:
    """Write the checkpoint of ``step`` atomically, point ``latest`` at it, prune old ones."""
    from safetensors.torch import save_model

    root = Path(run_dir) / CHECKPOINTS
    final = root / f"step-{step:08d}"
    with atomic_directory(final, overwrite=True) as tmp:
        save_model(model, str(tmp / WEIGHTS))
        torch.save(state, tmp / STATE)
    atomic_write_text(root / LATEST, final.name + "\n")
    for old in list_checkpoints(run_dir)[:-keep]:
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoint directories, oldest first (hidden partial ones are skipped)."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if _STEP_DIR.match(p.name) and _complete(p)]
    return sorted(found, key=lambda p: p.name)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint named by ``latest``, else the newest complete one, else None."""
    root = Path(run_dir) / CHECKPOINTS
    pointer = root / LATEST
    if pointer.is_file():
        named = root / pointer.read_text().strip()
        if _STEP_DIR.match(named.name) and _complete(named):
            return named
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def checkpoint_step(path: Path) -> int:
    match = _STEP_DIR.match(Path(path).name)
    if not match:
        raise TrainingError(f"{path} is not a checkpoint directory (step-NNNNNNNN)")
    return int(match.group(1))


def load_weights(model: torch.nn.Module, checkpoint: Path) -> None:
    """Load ``model.safetensors`` into ``model``; a shape or name mismatch is one error line."""
    from safetensors.torch import load_model

    path = Path(checkpoint) / WEIGHTS
    try:
        load_model(model, str(path), strict=True)
    except (RuntimeError, KeyError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrainingError(
            f"{path} does not fit the model described by run.json: {first}"
        ) from None


def load_state(checkpoint: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    path = Path(checkpoint) / STATE
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise TrainingError(f"missing checkpoint state: {path}") from None
