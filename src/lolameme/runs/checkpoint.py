"""Checkpoints that survive a kill at any moment.

A checkpoint is a directory ``RUN/checkpoints/step-NNNNNNNN/`` holding

- ``model.safetensors``: the weights (``safetensors.torch.save_model`` stores a tied
  embedding/output matrix once and restores the tie on load);
- ``state.pt``: optimiser, schedule, sampler, step and RNG states (plain tensors and
  numbers, so ``torch.load(weights_only=True)`` reads it).

The directory is built under a hidden temporary name and renamed into place only when
both files are complete; then ``RUN/checkpoints/latest`` (one line, replaced
atomically) is pointed at it, and only then are older checkpoints removed. Whenever
the process dies, ``latest`` names a complete checkpoint: if the kill came between the
rename and the pointer update, still the previous one (the newer directory is then a
fallback only). Without a usable ``latest``, the newest complete ``step-*`` directory is
used.

The two newest checkpoints are kept, so that a resume whose latest checkpoint was
damaged afterwards (a truncated copy, a disk error) falls back to the one before it
(:func:`resume_candidates`). A file that cannot be read is a :class:`CheckpointError`
naming it, never a library traceback.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import torch

from lolameme._io import atomic_directory, atomic_write_text, default_mode
from lolameme.errors import TrainingError

CHECKPOINTS = "checkpoints"
LATEST = "latest"
WEIGHTS = "model.safetensors"
STATE = "state.pt"
_STEP_DIR = re.compile(r"^step-(\d{8})$")
KEEP = 2  # checkpoints kept: the latest, and one to fall back to if it is damaged
# What a state.pt must hold to be resumed from (anything else is a damaged file).
STATE_KEYS = ("step", "tokens_seen", "optimizer", "sampler", "rng")


class CheckpointError(TrainingError):
    """A checkpoint file is missing, truncated, unreadable or not a lolameme checkpoint."""


def _complete(path: Path) -> bool:
    return (path / WEIGHTS).is_file() and (path / STATE).is_file()


def save_checkpoint(
    run_dir: Path, step: int, model: torch.nn.Module, state: dict[str, Any], keep: int = KEEP
) -> Path:
    """Write the checkpoint of ``step`` atomically, point ``latest`` at it, prune old ones."""
    from safetensors.torch import save_model

    root = Path(run_dir) / CHECKPOINTS
    final = root / f"step-{step:08d}"
    with atomic_directory(final, overwrite=True) as tmp:
        save_model(model, str(tmp / WEIGHTS))
        default_mode(tmp / WEIGHTS)  # safetensors creates it 0600; outputs follow the umask
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
        named = root / pointer.read_bytes().decode("utf-8", "replace").strip()
        if _STEP_DIR.match(named.name) and _complete(named):
            return named
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def checkpoint_step(path: Path) -> int:
    match = _STEP_DIR.match(Path(path).name)
    if not match:
        raise TrainingError(f"{path} is not a checkpoint directory (step-NNNNNNNN)")
    return int(match.group(1))


def _unreadable(path: Path, exc: BaseException) -> CheckpointError:
    if isinstance(exc, PermissionError):
        return CheckpointError(f"permission denied reading checkpoint file {path}")
    if isinstance(exc, FileNotFoundError):
        return CheckpointError(f"missing checkpoint file {path}")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return CheckpointError(f"damaged checkpoint file {path} ({first[:160]})")


def load_weights(model: torch.nn.Module, checkpoint: Path) -> None:
    """Load ``model.safetensors`` into ``model``; a damaged file, or a shape or name
    mismatch, is one error line naming the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    path = Path(checkpoint) / WEIGHTS
    try:
        load_model(model, str(path), strict=True)
    except (SafetensorError, OSError) as exc:
        raise _unreadable(path, exc) from None
    except (RuntimeError, KeyError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrainingError(
            f"{path} does not fit the model described by run.json: {first}"
        ) from None


def load_state(
    checkpoint: Path, device: torch.device | str = "cpu", required: tuple[str, ...] = ("step",)
) -> dict[str, Any]:
    """Read ``state.pt``; a missing, truncated, empty or foreign file (one without the
    ``required`` keys) is a :class:`CheckpointError` naming it."""
    path = Path(checkpoint) / STATE
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # zip, pickle, EOF and OS errors alike: the file is unusable
        raise _unreadable(path, exc) from None
    missing = [key for key in required if not isinstance(state, dict) or key not in state]
    if missing:
        raise CheckpointError(
            f"damaged checkpoint file {path} (not a lolameme training state: no "
            f"{', '.join(missing)})"
        )
    return state


def resume_candidates(run_dir: Path) -> list[Path]:
    """Checkpoints to resume from, best first: ``latest``, then older complete ones."""
    first = latest_checkpoint(run_dir)
    older = [p for p in reversed(list_checkpoints(run_dir)) if p != first]
    return ([first] if first is not None else []) + older
