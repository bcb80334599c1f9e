"""Implicit long filters: a small MLP maps positions to filter taps.

A filter is as long as the sequence but has a fixed number of parameters: positional
features of each tap position ``t`` feed an MLP whose output is one tap per channel.
Two constructions:

- :class:`ImplicitFilter`, Hyena's (arXiv 2302.10866, section 3.3; safari's
  ``HyenaFilter``): an MLP with sine activations, times an exponentially decaying window;
- :class:`MLPFilter`, zoology's ``ImplicitLongConvolution`` (BaseConv's long filter
  since zoology's "Simplify long conv" change of 2023-10-29): ``Linear -> ReLU ->
  Linear`` with biases, no window.

The features are normalised to the maximum length ``l_max``, so the taps of a shorter
sequence are a prefix of the taps of a longer one; incremental decoding relies on it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class PositionalFeatures(nn.Module):
    """Features of each tap position: ``t / (l_max - 1)`` and ``(emb_dim - 1) / 2`` sin/cos bands.

    Fixed, not trained (zoology freezes them; safari trains them at lr 1e-5), and kept
    out of the state dict because ``l_max`` and ``emb_dim`` determine them.
    """

    def __init__(self, emb_dim: int, l_max: int) -> None:
        super().__init__()
        if emb_dim < 3 or emb_dim % 2 == 0:
            raise ValueError(f"filter emb_dim must be odd and >= 3 (time, sin, cos), got {emb_dim}")
        bands = (emb_dim - 1) // 2
        t = torch.linspace(0, 1, l_max)[None, :, None]  # (1, L, 1)
        angle = 2 * math.pi * torch.arange(l_max, dtype=torch.float32)[None, :, None] / l_max
        freqs = torch.linspace(1e-4, bands - 1, bands)[None, None]  # (1, 1, bands)
        z = torch.cat([t, torch.cos(freqs * angle), -torch.sin(freqs * angle)], dim=-1)
        self.register_buffer("z", z, persistent=False)  # (1, L, emb_dim)
        self.register_buffer("t", t, persistent=False)  # (1, L, 1)

    def forward(self, length: int) -> tuple[Tensor, Tensor]:
        return self.z[:, :length], self.t[:, :length]


class Sin(nn.Module):
    """``sin(freq * x)`` with a trainable per-unit frequency, initialised to ``frequency``."""

    def __init__(self, dim: int, frequency: float) -> None:
        super().__init__()
        self.freq = nn.Parameter(torch.full((1, dim), float(frequency)))

    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(self.freq * x)


class ExponentialModulation(nn.Module):
    """Multiply channel c's taps by ``exp(-|delta_c| t)``: a window from fast to slow decay.

    ``delta`` runs linearly over the channels so that the window falls to ``target``
    after ``fast_decay_pct`` of ``l_max`` for the first channel and after
    ``slow_decay_pct`` for the last: a spread of memory lengths from the start.
    """

    def __init__(
        self,
        channels: int,
        fast_decay_pct: float = 0.3,
        slow_decay_pct: float = 1.5,
        target: float = 1e-2,
    ) -> None:
        super().__init__()
        max_decay = math.log(target) / fast_decay_pct
        min_decay = math.log(target) / slow_decay_pct
        deltas = torch.linspace(min_decay, max_decay, channels)[None, None]
        self.register_buffer("deltas", deltas, persistent=False)  # (1, 1, C)

    def forward(self, t: Tensor, h: Tensor) -> Tensor:
        return h * torch.exp(-t * self.deltas.abs())


def _autocast_state(device_type: str) -> object:
    """The dtype autocast would give the filter's matrix products here, or False."""
    if hasattr(torch, "get_autocast_dtype"):  # torch >= 2.4
        return torch.is_autocast_enabled(device_type) and torch.get_autocast_dtype(device_type)
    if device_type == "cpu":
        return torch.is_autocast_cpu_enabled() and torch.get_autocast_cpu_dtype()
    return torch.is_autocast_enabled() and torch.get_autocast_gpu_dtype()


class ImplicitFilter(nn.Module):
    """Taps ``(channels, length)`` of a long filter, computed from positions by an MLP.

    The MLP has ``num_inner + 2`` linear layers (4 by default): ``emb_dim -> order``,
    ``num_inner`` x ``order -> order``, then ``order -> channels`` without bias; one
    shared :class:`Sin` activation follows every layer but the last, as in safari.
    """

    def __init__(
        self,
        channels: int,
        l_max: int,
        *,
        emb_dim: int,
        order: int,
        frequency: float,
        num_inner: int = 2,
    ) -> None:
        super().__init__()
        self.pos = PositionalFeatures(emb_dim, l_max)
        act = Sin(order, frequency)
        layers: list[nn.Module] = [nn.Linear(emb_dim, order), act]
        for _ in range(num_inner):
            layers += [nn.Linear(order, order), act]
        layers.append(nn.Linear(order, channels, bias=False))
        self.mlp = nn.Sequential(*layers)
        self.modulation = ExponentialModulation(channels)
        # taps computed without autograd (evaluation), reused while nothing changed
        self._cached: tuple[tuple, Tensor] | None = None

    def forward(self, length: int) -> Tensor:
        """Taps (C, length). Without autograd, the last result is reused until a
        parameter changes (an optimiser step or a load bumps its version; a move to
        another device changes its storage; a write through ``p.data`` bypasses the
        version and is not seen): evaluation asks every layer for the ``l_max`` taps
        once per batch."""
        if torch.is_grad_enabled():
            self._cached = None
            return self._taps(length)
        device = self.pos.z.device
        key = (
            length,
            device,
            _autocast_state(device.type),
            tuple((p._version, p.data_ptr(), p.dtype) for p in self.parameters()),
        )
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, self._taps(length))
        return self._cached[1]

    def _taps(self, length: int) -> Tensor:
        z, t = self.pos(length)
        h = self.modulation(t, self.mlp(z))  # (1, L, C)
        return h[0].transpose(0, 1)  # (C, L)


class MLPFilter(nn.Module):
    """Taps ``(channels, length)`` from ``Linear(emb_dim, hidden) -> ReLU -> Linear(hidden,
    channels)``, both with biases and no decay window: zoology's ``ImplicitLongConvolution``
    filter (emb_dim 3, hidden 16 there), on the same positional features as Hyena's."""

    def __init__(self, channels: int, l_max: int, *, emb_dim: int, hidden: int) -> None:
        super().__init__()
        self.pos = PositionalFeatures(emb_dim, l_max)
        self.mlp = nn.Sequential(nn.Linear(emb_dim, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, length: int) -> Tensor:
        z, _ = self.pos(length)
        return self.mlp(z)[0].transpose(0, 1)  # (C, L)
