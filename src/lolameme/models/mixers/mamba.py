"""Mamba, the selective state space layer (Gu & Dao 2023, arXiv 2312.00752)::

    x, z = in_proj(u)                             # two branches of width d_inner = expand * D
    x = silu(conv(x))                             # depthwise causal conv, d_conv taps
    dt, B, C = x_proj(x)                          # input-dependent step and SSM matrices
    dt = softplus(dt_proj(dt) + dt_bias)          # (d_inner), one step per channel
    h_t = exp(dt * A) * h_{t-1} + dt * B_t * x_t  # per channel, d_state real modes
    y = out_proj((C_t . h_t + D * x_t) * silu(z))

Same parameters and defaults as ``mamba_ssm.modules.mamba_simple.Mamba`` (d_state 16,
d_conv 4, expand 2, dt_rank ceil(D / 16), S4D-real ``A = -(1..d_state)``, dt log-uniform
in [1e-3, 1e-1], no bias on the projections); a golden test loads its weights and
reproduces its output. Differences: ``dt_proj``'s bias is a separate ``dt_bias``
(mamba2's layout), so GPT-2 init, which zeroes Linear biases, keeps the dt init; the
conv is :class:`~lolameme.models.ops.ShortCausalConv` (same function as mamba's
``nn.Conv1d``).

Training runs the recurrence in pure PyTorch (:func:`~lolameme.models.scan.linear_scan`:
a loop of in-place multiply-adds on CPU, a stable parallel scan on other devices). When
``mamba_ssm`` is installed and the input is on a CUDA device, its fused
``selective_scan_fn`` runs instead (``use_kernel=False`` turns that off); decoding is the
recurrence, one token at a time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lolameme.models.mixers.base import Mixer, dt_range_problem
from lolameme.models.ops import ShortCausalConv
from lolameme.models.scan import linear_scan

try:  # optional CUDA kernels; never required
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
except ImportError:  # pragma: no cover - depends on the environment
    selective_scan_fn = None


@dataclass
class MambaState:
    """Decoding state: the conv window of past ``x`` and the SSM state."""

    window: Tensor  # (B, d_conv - 1, d_inner)
    h: Tensor  # (B, d_inner, d_state), float32


class Mamba(Mixer):
    name = "mamba"
    position_aware = True  # the conv and the recurrence see order

    def __init__(
        self,
        d_model: int,
        layer_idx: int,
        n_layers: int,
        *,
        l_max: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | None = None,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        scan_chunk: int = 64,
        use_kernel: bool = True,
    ) -> None:
        """``dt_rank`` None is mamba's "auto", ceil(d_model / 16); ``scan_chunk`` only
        changes the speed and memory of the parallel scan (off CPU), not its result."""
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        kwargs = {"d_state": d_state, "d_conv": d_conv, "expand": expand, "dt_rank": dt_rank}
        if problem := self.config_problem(d_model, {**kwargs, "dt_min": dt_min, "dt_max": dt_max}):
            raise ValueError(problem)
        self.d_state, self.d_conv = d_state, d_conv
        self.d_inner = expand * d_model
        self.dt_rank = math.ceil(d_model / 16) if dt_rank is None else dt_rank
        self.scan_chunk, self.use_kernel = scan_chunk, use_kernel
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=False)
        self.conv = ShortCausalConv(self.d_inner, d_conv)
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=False)
        # mamba's init: dt_proj ~ U(+-dt_rank^-0.5), softplus(dt_bias) log-uniform in
        # [dt_min, dt_max] (floored at 1e-4), A = -(1..d_state) per channel, D = 1
        bound = self.dt_rank**-0.5
        nn.init.uniform_(self.dt_proj.weight, -bound, bound)
        dt = torch.exp(
            torch.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        ).clamp(min=1e-4)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        a = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(a))
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    @classmethod
    def config_problem(cls, d_model: int, kwargs: Mapping[str, Any]) -> str | None:
        for key in ("d_state", "d_conv", "expand"):
            value = kwargs.get(key, 1)
            if not isinstance(value, int) or value < 1:
                return f"{key} must be a positive integer, got {value}"
        rank = kwargs.get("dt_rank")
        if rank is not None and (not isinstance(rank, int) or rank < 1):
            return f"dt_rank must be a positive integer or null (auto), got {rank}"
        dt_min, dt_max = kwargs.get("dt_min", 1e-3), kwargs.get("dt_max", 1e-1)
        if problem := dt_range_problem(dt_min, dt_max):
            return problem
        return None

    # --- the pieces ------------------------------------------------------------------
    def _ssm_inputs(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x (..., d_inner) -> dt (..., d_inner) after softplus, B and C (..., d_state)."""
        dt, b, c = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        return F.softplus(self.dt_proj(dt).float() + self.dt_bias.float()), b, c

    def _scan(self, x: Tensor, dt: Tensor, b: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """(B, L, ...) inputs -> ``C . h_t`` (B, L, d_inner) and all states (B, L, d_inner, N)."""
        a = -torch.exp(self.A_log.float())  # (d_inner, N)
        decay = torch.exp(dt.unsqueeze(-1) * a)  # (B, L, d_inner, N)
        inputs = (dt * x.float()).unsqueeze(-1) * b.float().unsqueeze(-2)
        h = linear_scan(decay, inputs, chunk=self.scan_chunk)
        return torch.einsum("bldn,bln->bld", h, c.float()), h

    def _kernel_path(self, u: Tensor) -> bool:
        return self.use_kernel and selective_scan_fn is not None and u.is_cuda

    def _run(self, u: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """(B, L, D) -> output, the conv inputs ``x`` (B, L, d_inner), states or None."""
        x_in, z = self.in_proj(u).chunk(2, dim=-1)
        x = F.silu(self.conv(x_in))  # (B, L, d_inner)
        dt, b, c = self._ssm_inputs(x)
        states = None
        if self._kernel_path(u):
            a = -torch.exp(self.A_log.float())
            y = selective_scan_fn(  # (B, d_inner, L); dt already has its bias and softplus
                x.transpose(1, 2).contiguous(),
                dt.transpose(1, 2).contiguous(),
                a,
                b.transpose(1, 2).contiguous(),
                c.transpose(1, 2).contiguous(),
                self.D.float(),
            ).transpose(1, 2)
        else:
            y, states = self._scan(x, dt, b, c)
            y = y + self.D.float() * x.float()
        y = y.to(u.dtype) * F.silu(z)
        return self.out_proj(y), x_in, states

    # --- the Mixer interface ---------------------------------------------------------
    def forward(self, u: Tensor) -> Tensor:
        return self._run(u)[0]

    def prefill(self, u: Tensor, keep: int | None = None) -> tuple[Tensor, MambaState]:
        y, x_in, states = self._run(u)
        keep = u.shape[1] if keep is None else keep
        if states is None:  # the kernel path keeps no states: rerun the scan up to keep
            x = F.silu(self.conv(x_in[:, :keep]))
            states = self._scan(x, *self._ssm_inputs(x))[1]
        h = states[:, keep - 1] if keep > 0 else u.new_zeros(u.shape[0], self.d_inner, self.d_state)
        return y, MambaState(window=self.conv.window(x_in[:, :keep]), h=h.float())

    def step(self, u_t: Tensor, state: MambaState) -> tuple[Tensor, MambaState]:
        """O(d_inner x d_state) per token: the recurrence itself."""
        x_in, z = self.in_proj(u_t).chunk(2, dim=-1)
        conv, window = self.conv.step(x_in, state.window)
        x = F.silu(conv)
        dt, b, c = self._ssm_inputs(x)
        decay = torch.exp(dt.unsqueeze(-1) * -torch.exp(self.A_log.float()))
        h = decay * state.h + (dt * x.float()).unsqueeze(-1) * b.float().unsqueeze(-2)
        y = (h * c.float().unsqueeze(-2)).sum(-1) + self.D.float() * x.float()
        y = y.to(u_t.dtype) * F.silu(z)
        return self.out_proj(y), MambaState(window=window, h=h)

    def state_size(self, sequence_length: int) -> int:
        """Constant in L: d_inner x d_state SSM state plus the conv window (d_conv - 1 taps)."""
        return self.d_inner * (self.d_state + self.d_conv - 1)

    def residual_projections(self) -> list[nn.Linear]:
        return [self.out_proj]

    def no_weight_decay(self) -> list[nn.Parameter]:
        # mamba marks A_log and D _no_weight_decay
        return [self.A_log, self.D]
