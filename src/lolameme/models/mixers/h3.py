"""H3, "Hungry Hungry Hippos" (Fu et al. 2023, arXiv 2212.14052)::

    q, k, v = in_proj(u)                               # three projections
    k = shift_ssm(k)                                   # short causal conv: remembers tokens
    y = out_proj(q * diag_ssm(k * v))                  # long conv: remembers pairs; q reads

The shift SSM (a shift matrix A, so its kernel is a learned FIR filter of
``shift_size`` taps) lets ``k`` at position t carry the previous tokens, so ``k * v``
binds "what came before" to "what is here"; the diagonal SSM (S4D,
:mod:`lolameme.models.ssm`) accumulates those bindings over the whole sequence, and
the query gate picks out the one that matches the current token. The diagonal SSM's
kernel is materialised for the sequence length and runs through the same FFT
convolution as Hyena, with a per-channel skip ``D``.

Deviations from zoology's H3, for readability: one head (``head_dim = 1``, zoology's
default); the shift SSM is :class:`~lolameme.models.ops.ShortCausalConv`, whose
newest tap plays the part of zoology's shift skip ``D`` and which adds a bias; its
default length is 4 taps, not ``d_state`` (zoology's), set ``shift_size`` to match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from lolameme.models.mixers.base import Mixer, dt_range_problem
from lolameme.models.ops import ShortCausalConv, fft_causal_conv
from lolameme.models.ssm import DiagonalSSM


@dataclass
class H3State:
    """Decoding state: the shift window of past keys and the diagonal SSM's state."""

    window: Tensor  # (B, shift_size - 1, D)
    ssm: Tensor  # (B, D, d_state / 2) complex


class H3(Mixer):
    name = "h3"
    position_aware = True  # both SSMs see relative positions

    def __init__(
        self,
        d_model: int,
        layer_idx: int,
        n_layers: int,
        *,
        l_max: int,
        d_state: int = 64,
        shift_size: int = 4,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
    ) -> None:
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        kwargs = {"d_state": d_state, "shift_size": shift_size, "dt_min": dt_min, "dt_max": dt_max}
        if problem := self.config_problem(d_model, kwargs):
            raise ValueError(problem)
        self.d_state = d_state
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.shift = ShortCausalConv(d_model, shift_size)
        self.ssm = DiagonalSSM(d_model, d_state, dt_min=dt_min, dt_max=dt_max)
        self.D = nn.Parameter(torch.randn(d_model))  # skip of the diagonal SSM, as Hyena
        self.out_proj = nn.Linear(d_model, d_model)

    @classmethod
    def config_problem(cls, d_model: int, kwargs: Mapping[str, Any]) -> str | None:
        d_state, shift = kwargs.get("d_state", 64), kwargs.get("shift_size", 4)
        dt_min, dt_max = kwargs.get("dt_min", 1e-3), kwargs.get("dt_max", 1e-1)
        if not isinstance(d_state, int) or d_state < 2 or d_state % 2:
            return f"d_state must be an even integer >= 2 (complex pairs), got {d_state}"
        if not isinstance(shift, int) or shift < 1:
            return f"shift_size must be a positive integer, got {shift}"
        if problem := dt_range_problem(dt_min, dt_max):
            return problem
        return None

    def _run(self, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, L, D) -> the output, and the keys and ``k * v`` (B, L, D) the state is made of."""
        q, k, v = self.in_proj(u).split(self.d_model, dim=-1)
        kv = self.shift(k) * v
        y = q * fft_causal_conv(kv, self.ssm.kernel(u.shape[1]), self.D)
        return self.out_proj(y), k, kv

    def forward(self, u: Tensor) -> Tensor:
        return self._run(u)[0]

    def prefill(self, u: Tensor, keep: int | None = None) -> tuple[Tensor, H3State]:
        y, k, kv = self._run(u)
        state = H3State(
            window=self.shift.window(k[:, :keep]), ssm=self.ssm.state_after(kv[:, :keep])
        )
        return y, state

    def step(self, u_t: Tensor, state: H3State) -> tuple[Tensor, H3State]:
        q, k, v = self.in_proj(u_t).split(self.d_model, dim=-1)
        shifted, window = self.shift.step(k, state.window)
        kv = shifted * v
        long, ssm = self.ssm.step(kv, state.ssm)
        y = q * (long + self.D * kv)
        return self.out_proj(y), H3State(window=window, ssm=ssm)

    def state_size(self, sequence_length: int) -> int:
        """Constant in L: d_state reals per channel (zoology's D x N) + the shift window."""
        return self.d_model * (self.d_state + self.shift.kernel_size - 1)

    def residual_projections(self) -> list[nn.Linear]:
        return [self.out_proj]

    def no_weight_decay(self) -> list[nn.Parameter]:
        # S4 trains A and dt without weight decay (C is decayed like any matrix)
        return [self.ssm.log_dt, self.ssm.log_a_real, self.ssm.a_imag]
