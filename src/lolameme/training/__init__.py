"""Training: the loop, its config, optimiser and schedule, metrics logging and ``lolameme
train`` (tokenizers, batching and checkpoints are in :mod:`lolameme.runs`).

The public API is ``train(config: TrainConfig, progress=True) -> Path`` (the run
directory). Names are imported lazily so that ``lolameme --help`` never loads torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lolameme._lazy import lazy_exports

if TYPE_CHECKING:
    # for type checkers: at run time the names come from __getattr__
    from lolameme.training.config import TrainConfig  # noqa: F401
    from lolameme.training.trainer import train  # noqa: F401

_EXPORTS = {
    "TrainConfig": "lolameme.training.config",
    "train": "lolameme.training.trainer",
}
__all__, __getattr__ = lazy_exports(__name__, _EXPORTS)
