"""Shared fixtures for the model tests."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

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


# --- throwaway plugin packages ---------------------------------------------------------
# Written to a temporary folder and found through sys.path / PYTHONPATH only, as a
# user's package would be (never from src/).
MIXER_SOURCE = '''
import torch
from torch import Tensor, nn

from lolameme.models import Mixer


class RunningMax(Mixer):
    """Causal: the running maximum of a projection (no own decoding state)."""

    def __init__(self, d_model, layer_idx, n_layers, *, l_max, scale: float = 1.0):
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        self.scale = scale
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, u: Tensor) -> Tensor:
        return self.scale * torch.cummax(self.proj(u), dim=1).values

    def state_size(self, sequence_length: int) -> int:
        return sequence_length * self.d_model


class Leaky(RunningMax):
    """Not causal: every position sees the mean of the whole sequence."""

    def forward(self, u: Tensor) -> Tensor:
        x = self.proj(u)
        return x + x.mean(dim=1, keepdim=True)


class InPlaceStep(RunningMax):
    """Causal forward, but step overwrites the state it was given."""

    def prefill(self, u, keep=None):
        y = self(u)
        return y, {"max": self.proj(u[:, :keep]).amax(dim=1)}

    def step(self, u_t, state):
        state["max"] = torch.maximum(state["max"], self.proj(u_t))
        return self.scale * state["max"], state


class Unused(RunningMax):
    """A parameter that no output depends on."""

    def __init__(self, d_model, layer_idx, n_layers, *, l_max):
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        self.spare = nn.Parameter(torch.ones(3))


class MixesRows(RunningMax):
    """Causal in time, but adds the batch mean: rows leak into each other."""

    def forward(self, u: Tensor) -> Tensor:
        y = super().forward(u)
        return y + y.mean(dim=0, keepdim=True)


def not_a_class(d_model):
    return d_model
'''

MODEL_SOURCE = """
import torch
from torch import nn


class Bigram(nn.Module):
    def __init__(self, vocab_size: int, width: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width)
        self.head = nn.Linear(width, vocab_size)

    def forward(self, ids):
        return self.head(self.embed(ids))


class RunningMean(Bigram):
    # Logits from the mean embedding of the ids so far: each depends on the whole
    # prefix, so decoding that drops the history gives other logits.

    def forward(self, ids):
        x = self.embed(ids)
        count = torch.arange(1, ids.shape[1] + 1, dtype=x.dtype, device=ids.device)
        return self.head(torch.cumsum(x, dim=1) / count[:, None])


def build(vocab_size, max_seq_len, scale):
    return Bigram(vocab_size, {"smoke": 8}.get(scale, 16))


def build_context(vocab_size, max_seq_len, scale):
    return RunningMean(vocab_size, {"smoke": 8}.get(scale, 16))


def wrong_shape(vocab_size, max_seq_len, scale):
    return nn.Embedding(vocab_size, 4)  # (B, L, 4): not logits


NOT_CALLABLE = 3
"""

BROKEN_SOURCE = """
raise RuntimeError("this plugin fails on import")
"""


def write_plugins(folder: Path) -> Path:
    """Write the package ``lm_plugins`` (mixers, models, broken) into ``folder``."""
    package = folder / "lm_plugins"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    for name, source in (
        ("mixers", MIXER_SOURCE),
        ("models", MODEL_SOURCE),
        ("broken", BROKEN_SOURCE),
    ):
        (package / f"{name}.py").write_text(textwrap.dedent(source))
    return folder


def forget_plugins() -> None:
    """Drop the imported plugin modules, so the next test imports its own copy."""
    for name in [m for m in sys.modules if m == "lm_plugins" or m.startswith("lm_plugins.")]:
        del sys.modules[name]


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The ``lm_plugins`` package on ``sys.path`` (yields its folder; see ``env_with``)."""
    folder = write_plugins(tmp_path / "plugins")
    monkeypatch.syspath_prepend(str(folder))
    forget_plugins()
    yield folder
    forget_plugins()


def env_with(*folders: Path) -> dict[str, str]:
    """The environment of a fresh process that imports this checkout plus ``folders``."""
    import lolameme

    src = Path(lolameme.__file__).resolve().parents[1]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), *map(str, folders)])}


@pytest.fixture
def fresh_env() -> Callable[..., dict[str, str]]:
    return env_with
