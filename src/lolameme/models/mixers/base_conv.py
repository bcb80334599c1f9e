"""Zoology's BaseConv (Arora et al. 2023, arXiv 2312.04927): a gated convolution.

    y = linear(u) * conv(u) + u

``conv`` is a short depthwise causal convolution (kernel 3) or a long one with an
implicit filter, chosen per layer by ``kernel_size`` (-1 = long), as in zoology whose
reference configurations alternate ``[3, -1, ...]``; we cycle the list over
``layer_idx``. The long convolution adds its input back (zoology's ``fft_conv`` does
``y + u``), and the mixer adds ``u`` again at the end; both as in the reference, on
top of the block's own residual connection.

The long filter (``long_filter``) is by default zoology's current
``ImplicitLongConvolution`` (``"mlp"``: positions -> Linear -> ReLU -> Linear, no
window; :class:`~lolameme.models.filters.MLPFilter`). ``"hyena"`` keeps the filter
zoology used before its 2023-10-29 "Simplify long conv" change (Hyena's sine MLP with
an exponential window), which lolameme used until it was checked against the reference;
it reproduces runs made with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from lolameme.models.filters import ImplicitFilter, MLPFilter
from lolameme.models.mixers.base import Mixer
from lolameme.models.ops import (
    History,
    ShortCausalConv,
    causal_conv_last,
    fft_causal_conv,
    reversed_taps,
)

# zoology's reference configurations alternate short (3) and long (-1) convolutions
_DEFAULT_KERNELS = [3, -1]
LONG_FILTERS = ("mlp", "hyena")


@dataclass
class BaseConvState:
    """Short conv: the last k-1 inputs; long conv: all inputs so far and the taps."""

    inputs: Tensor | History  # (B, k-1, D) or, for the long convolution, (B, T, D)
    taps: Tensor | None  # (l_max, D) reversed (ops.reversed_taps) for the long convolution


class BaseConv(Mixer):
    name = "base_conv"
    position_aware = True

    def __init__(
        self,
        d_model: int,
        layer_idx: int,
        n_layers: int,
        *,
        l_max: int,
        kernel_size: int | list[int] | None = None,
        long_filter: str = "mlp",
        filter_emb_dim: int = 3,
        filter_order: int = 16,
        filter_frequency: float = 1.0,
    ) -> None:
        """``filter_order`` is the filter MLP's hidden width; ``filter_frequency`` the
        initial sine frequency, used by the ``"hyena"`` long filter only."""
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        kernel_size = _DEFAULT_KERNELS if kernel_size is None else kernel_size
        sizes = [kernel_size] if isinstance(kernel_size, int) else list(kernel_size)
        self.kernel_size = sizes[layer_idx % len(sizes)]
        self.projection = nn.Linear(d_model, d_model)
        self.short_conv: ShortCausalConv | None = None
        self.filter: ImplicitFilter | MLPFilter | None = None
        if problem := self.config_problem(d_model, {"long_filter": long_filter}):
            raise ValueError(problem)
        if self.kernel_size == -1 and long_filter == "mlp":
            self.filter = MLPFilter(d_model, l_max, emb_dim=filter_emb_dim, hidden=filter_order)
        elif self.kernel_size == -1:
            self.filter = ImplicitFilter(
                d_model,
                l_max,
                emb_dim=filter_emb_dim,
                order=filter_order,
                frequency=filter_frequency,
            )
        else:
            self.short_conv = ShortCausalConv(d_model, self.kernel_size)

    @classmethod
    def config_problem(cls, d_model: int, kwargs: Mapping[str, Any]) -> str | None:
        sizes = kwargs.get("kernel_size")
        sizes = _DEFAULT_KERNELS if sizes is None else sizes
        sizes = [sizes] if isinstance(sizes, int) else list(sizes)
        if not sizes or any(not isinstance(k, int) or (k < 1 and k != -1) for k in sizes):
            return f"kernel_size must be positive or -1 (long), got {sizes}"
        long_filter = kwargs.get("long_filter", "mlp")
        if long_filter not in LONG_FILTERS:
            return f"long_filter must be one of {', '.join(LONG_FILTERS)}, got {long_filter!r}"
        return None

    def _conv(self, x: Tensor) -> Tensor:
        """(B, L, D) -> (B, L, D)."""
        if self.short_conv is not None:
            return self.short_conv(x)
        assert self.filter is not None
        return fft_causal_conv(x, self.filter(x.shape[1])) + x

    def forward(self, u: Tensor) -> Tensor:
        if u.shape[1] > self.l_max:
            raise ValueError(f"sequence length {u.shape[1]} exceeds l_max {self.l_max}")
        return self.projection(u) * self._conv(u) + u

    def prefill(self, u: Tensor, keep: int | None = None) -> tuple[Tensor, BaseConvState]:
        x = u[:, :keep]
        if self.short_conv is not None:
            state = BaseConvState(inputs=self.short_conv.window(x), taps=None)
        else:
            assert self.filter is not None
            taps = reversed_taps(self.filter(self.l_max))
            state = BaseConvState(inputs=History(x, dim=1), taps=taps)
        return self(u), state

    def step(self, u_t: Tensor, state: BaseConvState) -> tuple[Tensor, BaseConvState]:
        inputs: Tensor | History
        if self.short_conv is not None:
            assert isinstance(state.inputs, Tensor)
            conv, inputs = self.short_conv.step(u_t, state.inputs)
        else:
            assert isinstance(state.inputs, History) and state.taps is not None
            if state.inputs.length >= self.l_max:
                raise ValueError(f"cannot decode past l_max {self.l_max}")
            inputs = state.inputs.append(u_t)
            conv = causal_conv_last(inputs.values, state.taps) + u_t
        return self.projection(u_t) * conv + u_t, BaseConvState(inputs=inputs, taps=state.taps)

    def state_size(self, sequence_length: int) -> int:
        """The past inputs decoding keeps: (kernel_size - 1) x D for a short conv (the
        current input arrives with the token), L x D for a long one (its taps are shared
        by every sequence, so they are not state)."""
        past = sequence_length if self.kernel_size == -1 else self.kernel_size - 1
        return self.d_model * past

    def no_weight_decay(self) -> list[nn.Parameter]:
        return self.filter_parameters()

    def filter_parameters(self) -> list[nn.Parameter]:
        # the long convolution's filter MLP; a short-convolution layer has no implicit filter
        return list(self.filter.parameters()) if self.filter is not None else []
