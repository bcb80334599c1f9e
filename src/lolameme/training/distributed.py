"""Multi-process training: the same ``lolameme train`` under ``torchrun`` uses DDP.

``torchrun`` (``python -m torch.distributed.run``) sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; without them the run is a single process and nothing here does anything.
NCCL is used between GPUs, gloo between CPU processes. Only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from lolameme.errors import ConfigError


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        return cls(
            rank=int(os.environ["RANK"]),
            world_size=world,
            local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        )

    def device(self, requested: str) -> torch.device:
        """The device of this process: ``cuda:LOCAL_RANK`` under DDP on GPUs."""
        use_cuda = requested == "cuda" or (requested == "auto" and torch.cuda.is_available())
        if use_cuda and not torch.cuda.is_available():
            raise ConfigError("device 'cuda' requested but torch sees no CUDA device")
        if not use_cuda:
            return torch.device("cpu")
        return torch.device("cuda", self.local_rank if self.enabled else 0)

    def init(self, device: torch.device) -> None:
        if not self.enabled or torch.distributed.is_initialized():
            return
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        torch.distributed.init_process_group(backend=backend)

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def close(self) -> None:
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
