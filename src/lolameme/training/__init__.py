"""Training: tokenizers, batching, the loop, checkpoints and ``lolameme train``.

The public API is ``train(config: TrainConfig, progress=True) -> Path`` (the run
directory). Names are imported lazily so that ``lolameme --help`` never loads torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lolameme.training.config import TrainConfig
    from lolameme.training.trainer import train

__all__ = ["TrainConfig", "train"]


def __getattr__(name: str) -> Any:
    if name == "train":
        from lolameme.training.trainer import train

        return train
    if name == "TrainConfig":
        from lolameme.training.config import TrainConfig

        return TrainConfig
    raise AttributeError(f"module 'lolameme.training' has no attribute {name!r}")
