"""The Hyena operator of order 2 (Poli et al. 2023, arXiv 2302.10866).

    x1, x2, v = short_conv(in_proj(u))             # 3 projections, depthwise kernel 3
    y = out_proj(x2 * long_conv(x1 * v))           # gate, long convolution, gate

The long convolution uses an implicit filter (positions -> sine MLP -> exponential
window, see :mod:`lolameme.models.filters`), runs as a causal FFT convolution padded
to 2L in fp32, and adds a per-channel skip ``D * (x1 * v)``. The gating order (x1
gates the input of the long convolution, x2 its output) is zoology's ``Hyena``;
safari's ``HyenaOperator`` (order 2) swaps the roles of the two gate blocks (its block
1 gates the input, block 0 the output), so safari weights load with those two D-row
blocks of ``in_proj`` and the short filter swapped. A test pins the order down.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from lolameme.models.filters import ImplicitFilter
from lolameme.models.mixers.base import Mixer, is_int, is_real
from lolameme.models.ops import (
    History,
    ShortCausalConv,
    causal_conv_last,
    fft_causal_conv,
    reversed_taps,
)


@dataclass
class HyenaState:
    """Decoding state: the short-conv window, the long-conv input history, the taps."""

    window: Tensor  # (B, short_kernel - 1, 3D): last in-projections
    history: History  # (B, T, D): x1 * v at every past position
    taps: Tensor  # (l_max, D): the long filter reversed (ops.reversed_taps), once at prefill


class Hyena(Mixer):
    name = "hyena"
    position_aware = True  # the short and long convolutions see relative positions

    def __init__(
        self,
        d_model: int,
        layer_idx: int,
        n_layers: int,
        *,
        l_max: int,
        filter_emb_dim: int = 33,
        filter_order: int = 64,
        filter_frequency: float = 14.0,
        short_kernel: int = 3,
    ) -> None:
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.short_conv = ShortCausalConv(3 * d_model, short_kernel)
        self.filter = ImplicitFilter(
            d_model, l_max, emb_dim=filter_emb_dim, order=filter_order, frequency=filter_frequency
        )
        # per-channel skip of the long convolution ("bias" in safari), N(0, 1) as there
        self.D = nn.Parameter(torch.randn(d_model))
        self.out_proj = nn.Linear(d_model, d_model)

    @classmethod
    def config_problem(cls, d_model: int, kwargs: Mapping[str, Any]) -> str | None:
        emb_dim = kwargs.get("filter_emb_dim", 33)
        if not is_int(emb_dim) or emb_dim < 3 or emb_dim % 2 == 0:
            return f"filter_emb_dim must be an odd integer >= 3 (time, sin, cos), got {emb_dim!r}"
        for key in ("filter_order", "short_kernel"):
            value = kwargs.get(key, 1)
            if not is_int(value) or value < 1:
                return f"{key} must be a positive integer, got {value!r}"
        frequency = kwargs.get("filter_frequency", 14.0)
        if not is_real(frequency) or not math.isfinite(frequency):
            return f"filter_frequency must be a finite number, got {frequency!r}"
        return None

    def project(self, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, L, D) -> x1, x2, v, each (B, L, D): in-projection and short convolution."""
        x1, x2, v = self.short_conv(self.in_proj(u)).split(self.d_model, dim=-1)
        return x1, x2, v

    def forward(self, u: Tensor) -> Tensor:
        length = u.shape[1]
        if length > self.l_max:
            raise ValueError(f"sequence length {length} exceeds the filter length {self.l_max}")
        x1, x2, v = self.project(u)
        return self.out_proj(x2 * fft_causal_conv(x1 * v, self.filter(length), self.D))

    def prefill(self, u: Tensor, keep: int | None = None) -> tuple[Tensor, HyenaState]:
        length = u.shape[1]
        if length > self.l_max:
            raise ValueError(f"sequence length {length} exceeds the filter length {self.l_max}")
        z = self.in_proj(u)
        x1, x2, v = self.short_conv(z).split(self.d_model, dim=-1)
        taps = self.filter(self.l_max)
        history = x1 * v
        y = x2 * fft_causal_conv(history, taps, self.D)
        state = HyenaState(
            window=self.short_conv.window(z[:, :keep]),
            history=History(history[:, :keep], dim=1),
            taps=reversed_taps(taps),
        )
        return self.out_proj(y), state

    def step(self, u_t: Tensor, state: HyenaState) -> tuple[Tensor, HyenaState]:
        """O(state) per token: the short conv's window, and one dot product of the
        long-conv history with the filter (no FFT, nothing recomputed)."""
        if state.history.length >= self.l_max:
            raise ValueError(f"cannot decode past the filter length {self.l_max}")
        z_t, window = self.short_conv.step(self.in_proj(u_t), state.window)
        x1, x2, v = z_t.split(self.d_model, dim=-1)
        w_t = x1 * v
        history = state.history.append(w_t)
        y = x2 * (causal_conv_last(history.values, state.taps) + self.D * w_t)
        return self.out_proj(y), HyenaState(window=window, history=history, taps=state.taps)

    def state_size(self, sequence_length: int) -> int:
        """Long-conv input history (D per position, as zoology counts a long conv)
        plus the short-conv window (3D channels x kernel - 1 past inputs);
        the reversed taps are the same for every sequence, so they are not state."""
        window = self.short_conv.kernel_size - 1
        return self.d_model * sequence_length + 3 * self.d_model * window

    def residual_projections(self) -> list[nn.Linear]:
        return [self.out_proj]

    def no_weight_decay(self) -> list[nn.Parameter]:
        # safari gives the implicit filter weight_decay 0 (its "wd" argument)
        return self.filter_parameters()

    def filter_parameters(self) -> list[nn.Parameter]:
        # the filter MLP (weights, biases, sine frequencies); its positional features and
        # decay window are fixed buffers here, not trained (see lolameme.models.filters)
        return list(self.filter.parameters())
