"""Numeric precision per device: bf16 autocast on CUDA, plain fp32 on CPU.

CPU autocast to bf16 is slower than fp32 on most CPUs and changes results, so the CPU
path stays exact (which the resume-equivalence test relies on).
"""

from __future__ import annotations

import contextlib

import torch


def autocast(device: torch.device) -> contextlib.AbstractContextManager[object]:
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
