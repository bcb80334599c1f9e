"""RWKV-4 (Peng et al. 2023, arXiv 2305.13048): time mixing and channel mixing.

Time mixing (the sequence mixer proper)::

    x' = previous position's input (token shift; zeros before the first)
    r, k, v = W_r mix(x, x', mu_r), W_k mix(x, x', mu_k), W_v mix(x, x', mu_v)
    a = W_o (sigmoid(r) * wkv(w, u, k, v))       # mix(x, x', mu) = mu x + (1 - mu) x'

with a per-channel decay ``w = exp(time_decay)`` and bonus ``u = time_first`` (see
:mod:`lolameme.models.wkv` for the stable WKV operator). Channel mixing is RWKV's
feed-forward part, also token-shifted::

    c = sigmoid(W_r' mix(z, z', mu_r')) * W_v' relu(W_k' mix(z, z', mu_k'))^2

Where channel mixing lives: an RWKV block is ``x += a(LN x); x += c(LN x)``, while a
lolameme block is ``x += mixer(LN x); x += MLP(LN x)``. This mixer runs a whole RWKV
block on the normalised input ``h = LN x`` it receives and returns the change it
makes: ``a + c(LN(h + a))`` with ``a = time_mix(h)``. The block's GPT-2 MLP still
follows. Hence ``rwkv`` has the time mixing of RWKV-4 and the feed-forward capacity
of both RWKV and the other lolameme layers; ``channel_mix_ratio=0`` removes the
channel mixing, leaving time mixing followed by the block's MLP (zoology's MQAR
configurations use the RWKV time mixer alone as their sequence mixer).

Init follows RWKV-4: decays spread over channels from fast to slow, deeper layers
slower; time-mix coefficients from 0 to 1 over channels. The model's GPT-2 init then
sets every Linear (RWKV initialises some of them to zero; GPT-2 init keeps all
layers of the zoo comparable).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lolameme.models.mixers.base import Mixer
from lolameme.models.wkv import WKVState, wkv_parallel, wkv_step


def _mix(x: Tensor, previous: Tensor, mu: Tensor) -> Tensor:
    """Interpolate each channel between this position and the previous one."""
    return x * mu + previous * (1 - mu)


def _shift(x: Tensor, first: Tensor) -> Tensor:
    """(B, L, D) -> the previous position's input at every position, ``first`` at t = 0."""
    return torch.cat([first.unsqueeze(1), x[:, :-1]], dim=1)


def _ramp(d_model: int) -> Tensor:
    """0, 1/D, ..., (D-1)/D: RWKV's per-channel position in [0, 1)."""
    return torch.arange(d_model, dtype=torch.float32) / d_model


class TimeMixing(nn.Module):
    """RWKV-4 time mixing: token shift, r/k/v, WKV, sigmoid(r) gate, output projection."""

    def __init__(self, d_model: int, layer_idx: int, n_layers: int, *, chunk_size: int) -> None:
        super().__init__()
        self.chunk_size = chunk_size
        depth = layer_idx / max(n_layers - 1, 1)  # 0 at the input .. 1 at the output
        shallowness = 1.0 - layer_idx / n_layers  # 1 at the input .. ~0 at the output
        channel = torch.arange(d_model, dtype=torch.float32) / max(d_model - 1, 1)
        # decay exponent from -5 (slow: w ~ 0.007) to 3 (fast: w ~ 20), slower in deep layers
        self.time_decay = nn.Parameter(-5 + 8 * channel ** (0.7 + 1.3 * depth))
        zigzag = 0.5 * (torch.arange(d_model) % 3 - 1).float()
        self.time_first = nn.Parameter(math.log(0.3) + zigzag)
        ramp = _ramp(d_model)
        self.mix_k = nn.Parameter(ramp**shallowness)
        self.mix_v = nn.Parameter(ramp**shallowness + 0.3 * depth)
        self.mix_r = nn.Parameter(ramp ** (0.5 * shallowness))
        self.key = nn.Linear(d_model, d_model, bias=False)
        self.value = nn.Linear(d_model, d_model, bias=False)
        self.receptance = nn.Linear(d_model, d_model, bias=False)
        self.output = nn.Linear(d_model, d_model, bias=False)

    def _rkv(self, x: Tensor, previous: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        r = self.receptance(_mix(x, previous, self.mix_r))
        k = self.key(_mix(x, previous, self.mix_k))
        v = self.value(_mix(x, previous, self.mix_v))
        return r, k, v

    def forward(self, x: Tensor, first: Tensor, state: WKVState) -> tuple[Tensor, WKVState]:
        """(B, L, D), the input before position 0, the WKV state -> output, next state."""
        r, k, v = self._rkv(x, _shift(x, first))
        wkv, state = wkv_parallel(
            torch.exp(self.time_decay), self.time_first, k, v, state, chunk=self.chunk_size
        )
        return self.output(torch.sigmoid(r) * wkv.to(x.dtype)), state

    def step(self, x_t: Tensor, previous: Tensor, state: WKVState) -> tuple[Tensor, WKVState]:
        """One position (B, D) -> output (B, D), next WKV state."""
        r, k, v = self._rkv(x_t, previous)
        wkv, state = wkv_step(torch.exp(self.time_decay), self.time_first, k, v, state)
        return self.output(torch.sigmoid(r) * wkv.to(x_t.dtype)), state


class ChannelMixing(nn.Module):
    """RWKV-4 channel mixing: token shift, squared-ReLU feed-forward, sigmoid gate."""

    def __init__(self, d_model: int, layer_idx: int, n_layers: int, *, ratio: int) -> None:
        super().__init__()
        shallowness = 1.0 - layer_idx / n_layers
        ramp = _ramp(d_model)
        self.mix_k = nn.Parameter(ramp**shallowness)
        self.mix_r = nn.Parameter(ramp**shallowness)
        self.key = nn.Linear(d_model, ratio * d_model, bias=False)
        self.value = nn.Linear(ratio * d_model, d_model, bias=False)
        self.receptance = nn.Linear(d_model, d_model, bias=False)

    def forward(self, z: Tensor, previous: Tensor) -> Tensor:
        """``z`` (..., D) and the previous position's ``z`` (same shape) -> (..., D)."""
        hidden = torch.square(F.relu(self.key(_mix(z, previous, self.mix_k))))
        return torch.sigmoid(self.receptance(_mix(z, previous, self.mix_r))) * self.value(hidden)


@dataclass
class RWKVState:
    """Decoding state: last inputs of both token shifts and the WKV sums (5 x D numbers)."""

    time_previous: Tensor  # (B, D)
    wkv: WKVState  # 3 x (B, D)
    channel_previous: Tensor | None  # (B, D), None without channel mixing


class RWKV(Mixer):
    name = "rwkv"
    position_aware = True  # token shift and decay tell positions apart

    def __init__(
        self,
        d_model: int,
        layer_idx: int,
        n_layers: int,
        *,
        l_max: int,
        channel_mix_ratio: int = 4,
        chunk_size: int = 8,
    ) -> None:
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        if problem := self.config_problem(
            d_model, {"channel_mix_ratio": channel_mix_ratio, "chunk_size": chunk_size}
        ):
            raise ValueError(problem)
        self.time_mixing = TimeMixing(d_model, layer_idx, n_layers, chunk_size=chunk_size)
        self.channel_mixing: ChannelMixing | None = None
        self.ln_channel: nn.LayerNorm | None = None
        if channel_mix_ratio:
            self.ln_channel = nn.LayerNorm(d_model)
            self.channel_mixing = ChannelMixing(
                d_model, layer_idx, n_layers, ratio=channel_mix_ratio
            )

    @classmethod
    def config_problem(cls, d_model: int, kwargs: Mapping[str, Any]) -> str | None:
        ratio, chunk = kwargs.get("channel_mix_ratio", 4), kwargs.get("chunk_size", 8)
        if not isinstance(ratio, int) or ratio < 0:
            return f"channel_mix_ratio must be an integer >= 0 (0 = no channel mixing), got {ratio}"
        if not isinstance(chunk, int) or chunk < 1:
            return f"chunk_size must be a positive integer, got {chunk}"
        return None

    def _empty(self, u: Tensor) -> RWKVState:
        zeros = u.new_zeros(u.shape[0], self.d_model)
        channel = zeros if self.channel_mixing is not None else None
        wkv = WKVState.empty(u.shape[0], self.d_model, device=u.device)
        return RWKVState(time_previous=zeros, wkv=wkv, channel_previous=channel)

    def prefill(self, u: Tensor, keep: int | None = None) -> tuple[Tensor, RWKVState]:
        start = self._empty(u)
        if keep is None or keep >= u.shape[1]:
            return self._continue(u, start)
        # the state after ``keep`` positions, then the rest continued from it
        head, state = self._continue(u[:, :keep], start)
        return torch.cat([head, self._continue(u[:, keep:], state)[0]], dim=1), state

    def _continue(self, u: Tensor, start: RWKVState) -> tuple[Tensor, RWKVState]:
        """Outputs over ``u`` (B, L, D) starting from ``start``, and the state after it."""
        a, wkv = self.time_mixing(u, start.time_previous, start.wkv)
        state = RWKVState(time_previous=u[:, -1], wkv=wkv, channel_previous=None)
        if self.channel_mixing is None:
            return a, state
        assert self.ln_channel is not None and start.channel_previous is not None
        z = self.ln_channel(u + a)
        state.channel_previous = z[:, -1]
        return a + self.channel_mixing(z, _shift(z, start.channel_previous)), state

    def forward(self, u: Tensor) -> Tensor:
        return self.prefill(u)[0]

    def step(self, u_t: Tensor, state: RWKVState) -> tuple[Tensor, RWKVState]:
        a, wkv = self.time_mixing.step(u_t, state.time_previous, state.wkv)
        new = RWKVState(time_previous=u_t, wkv=wkv, channel_previous=None)
        if self.channel_mixing is None:
            return a, new
        assert self.ln_channel is not None and state.channel_previous is not None
        z = self.ln_channel(u_t + a)
        new.channel_previous = z
        return a + self.channel_mixing(z, state.channel_previous), new

    def state_size(self, sequence_length: int) -> int:
        """Constant in L: WKV num, den, scale (3D) + token-shift inputs (D each)."""
        shifts = 2 if self.channel_mixing is not None else 1
        return (3 + shifts) * self.d_model

    def residual_projections(self) -> list[nn.Linear]:
        projections = [self.time_mixing.output]
        if self.channel_mixing is not None:
            projections.append(self.channel_mixing.value)
        return projections
