"""Shared fixtures for the model tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn


def _scramble(module: nn.Module, seed: int = 0, std: float = 0.3) -> nn.Module:
    """Give every parameter large random values: small GPT-2 init makes outputs
    nearly constant, which would let a leak or a mismatch hide under the tolerance."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * std)
    return module


@pytest.fixture
def scramble() -> Callable[..., nn.Module]:
    return _scramble


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture(autouse=True)
def _one_thread():
    """Run model tests on one intra-op thread. Smoke-size tensors gain nothing from two,
    and on a busy 2-core machine OpenMP's spinning made some tests 5x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
