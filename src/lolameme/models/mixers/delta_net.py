"""DeltaNet: linear attention with the delta rule (Schlag et al. 2021; the chunkwise
parallel form of Yang et al. 2024, arXiv 2406.06484), as zoology runs it through fla::

    q, k, v = silu(conv(W_q u)), silu(conv(W_k u)), silu(conv(W_v u))   # per head
    q, k = q / |q|_e, k / |k|_e;  beta_t = sigmoid(W_b u_t)               # one per head
    S_t = S_{t-1} + beta_t k_t (v_t - S_{t-1}^T k_t)^T                   # (d_k, d_v)
    o_t = S_t^T q_t / sqrt(d_k);  y = o_proj(RMSNorm(o))                  # norm per head

Where plain linear attention only adds ``k v^T`` to its state (so old associations
blur into new ones), the delta rule first reads what the state holds for ``k_t`` and
writes back the difference: it overwrites a key's value. That is what MQAR asks of a
fixed-size memory, hence DeltaNet as our gated linear-attention member (docs/zoo.md).

Settings as zoology's MQAR configurations (``num_heads`` 2, ``conv_size`` 4, beta, no
output gate, L2-normalised q and k, SiLU) and fla's defaults (scale ``1/sqrt(d_k)``,
RMSNorm eps 1e-5). The L2 norm is fla's in-kernel one, ``|x|_e = sqrt(|x|^2 + 1e-6)``.
Checked against fla's layer run on its pure-PyTorch references
(``tests/models/test_golden.py``). Deviations: the short convolutions are
:class:`~lolameme.models.ops.ShortCausalConv`, which has a bias (fla's has none; a
zero bias gives fla's function); and the delta rule runs in float32 where zoology's
copy of the layer casts q, k, v to bfloat16 before fla's kernel.

Training uses the chunkwise form: inside a chunk of C positions the UT transform
``T = (I + tril(diag(beta) K K^T, -1))^-1 diag(beta)`` turns the C sequential rank-1
updates into matrix products (``W = T K``, ``U = T V``); a loop over the L / C chunks
carries the state ``S``. Every update is a contraction (``|k| < 1``, ``beta`` in (0, 1)),
so nothing overflows at any length. Decoding applies the recurrence itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lolameme.models.mixers.base import Mixer
from lolameme.models.ops import ShortCausalConv


def l2_normalize(x: Tensor, eps: float = 1e-6) -> Tensor:
    """``x / sqrt(|x|^2 + eps)`` over the last dim: fla's in-kernel L2 norm
    (``l2norm_fwd``, which zoology's DeltaNet uses), not ``F.normalize``'s
    ``x / max(|x|, eps)``; the two differ by ``eps / (2 |x|^2)`` relative, visible
    for small activations."""
    return x * torch.rsqrt(x.square().sum(-1, keepdim=True) + eps)


def delta_rule_chunked(
    q: Tensor, k: Tensor, v: Tensor, beta: Tensor, chunk: int, state: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Outputs ``o_t = S_t^T q_t`` (B, H, L, d_v) and the final state (B, H, d_k, d_v).

    ``q, k`` (B, H, L, d_k), ``v`` (B, H, L, d_v), ``beta`` (B, H, L); all float32.
    """
    b, h, length, dk = k.shape
    dv = v.shape[-1]
    chunk = max(1, min(chunk, length))
    pad = -length % chunk
    if pad:  # beta 0 and k 0 at the padding: no update, no effect on earlier outputs
        q, k, v = (F.pad(x, (0, 0, 0, pad)) for x in (q, k, v))
        beta = F.pad(beta, (0, pad))
    n = (length + pad) // chunk
    q, k = q.view(b, h, n, chunk, dk), k.view(b, h, n, chunk, dk)
    v, beta = v.view(b, h, n, chunk, dv), beta.view(b, h, n, chunk, 1)
    eye = torch.eye(chunk, device=q.device, dtype=q.dtype)
    strict = torch.ones(chunk, chunk, device=q.device, dtype=torch.bool).tril(-1)
    lower = (beta * (k @ k.transpose(-1, -2))).masked_fill(~strict, 0.0) + eye
    # T = (I + A)^-1 diag(beta), A strictly lower: a unit lower-triangular solve
    w = torch.linalg.solve_triangular(lower, beta * k, upper=False, unitriangular=True)
    u = torch.linalg.solve_triangular(lower, beta * v, upper=False, unitriangular=True)
    scores = (q @ k.transpose(-1, -2)).masked_fill(~(strict | eye.bool()), 0.0)
    s = q.new_zeros(b, h, dk, dv) if state is None else state
    outs = []
    for c in range(n):
        new = u[:, :, c] - w[:, :, c] @ s  # what each key writes, given the state so far
        outs.append(q[:, :, c] @ s + scores[:, :, c] @ new)
        s = s + k[:, :, c].transpose(-1, -2) @ new
    out = torch.stack(outs, dim=2).view(b, h, n * chunk, dv)[:, :, :length]
    return out, s


@dataclass
class DeltaNetState:
    """Decoding state: the three conv windows and the fast-weight matrix ``S``."""

    windows: tuple[Tensor, Tensor, Tensor]  # (B, conv_size - 1, D) each, for q, k, v
    s: Tensor  # (B, H, d_k, d_v), float32


class DeltaNet(Mixer):
    name = "delta_net"
    position_aware = True  # the short convolutions and the ordered updates see order

    def __init__(
        self,
        d_model: int,
        layer_idx: int,
        n_layers: int,
        *,
        l_max: int,
        num_heads: int = 2,
        conv_size: int = 4,
        norm_eps: float = 1e-5,
        chunk_size: int = 64,
    ) -> None:
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        if problem := self.config_problem(
            d_model, {"num_heads": num_heads, "conv_size": conv_size}
        ):
            raise ValueError(problem)
        self.num_heads, self.head_dim = num_heads, d_model // num_heads
        self.chunk_size = chunk_size
        self.q_proj = nn.Linear(d_model, d_model, bias=False)
        self.k_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_model, bias=False)
        self.b_proj = nn.Linear(d_model, num_heads, bias=False)
        self.convs = nn.ModuleList(ShortCausalConv(d_model, conv_size) for _ in range(3))
        # per-head RMSNorm weight (written out: nn.RMSNorm needs torch >= 2.4)
        self.o_norm_weight = nn.Parameter(torch.ones(self.head_dim))
        self.norm_eps = norm_eps
        self.o_proj = nn.Linear(d_model, d_model, bias=False)

    @classmethod
    def config_problem(cls, d_model: int, kwargs: Mapping[str, Any]) -> str | None:
        heads, conv = kwargs.get("num_heads", 2), kwargs.get("conv_size", 4)
        if not isinstance(heads, int) or heads <= 0 or d_model % heads:
            return f"width {d_model} is not divisible into num_heads={heads} heads"
        if not isinstance(conv, int) or conv < 1:
            return f"conv_size must be a positive integer, got {conv}"
        return None

    def _heads(self, x: Tensor) -> Tensor:
        """(B, L, D) -> (B, H, L, D / H), float32."""
        b, length, _ = x.shape
        return x.view(b, length, self.num_heads, self.head_dim).transpose(1, 2).float()

    def _qkvb(self, u: Tensor, convolved: list[Tensor]) -> tuple[Tensor, ...]:
        """Per-head q (scaled), k (unit norm), v and beta from the convolved projections."""
        q, k, v = (self._heads(F.silu(x)) for x in convolved)
        q = l2_normalize(q) * self.head_dim**-0.5
        k = l2_normalize(k)
        beta = torch.sigmoid(self.b_proj(u).float()).transpose(1, 2)  # (B, H, L)
        return q, k, v, beta

    def _read(self, o: Tensor, dtype: torch.dtype) -> Tensor:
        b, _, length, _ = o.shape
        # RMSNorm per head, in float32 whatever the model's dtype, as the state
        o = o * torch.rsqrt(o.square().mean(-1, keepdim=True) + self.norm_eps)
        o = o * self.o_norm_weight.float()
        y = o.transpose(1, 2).reshape(b, length, self.d_model)
        return self.o_proj(y.to(dtype))

    def _projections(self, u: Tensor) -> list[Tensor]:
        """The q, k, v projections (B, L, D), before their convolutions."""
        return [p(u) for p in (self.q_proj, self.k_proj, self.v_proj)]

    def _run(self, u: Tensor, keep: int | None) -> tuple[Tensor, DeltaNetState | None]:
        raw = self._projections(u)
        convolved = [conv(x) for conv, x in zip(self.convs, raw, strict=True)]
        q, k, v, beta = self._qkvb(u, convolved)
        o, _ = delta_rule_chunked(q, k, v, beta, self.chunk_size)
        if keep is None:
            return self._read(o, u.dtype), None
        _, s = delta_rule_chunked(
            q[:, :, :keep], k[:, :, :keep], v[:, :, :keep], beta[:, :, :keep], self.chunk_size
        )
        windows = tuple(conv.window(x[:, :keep]) for conv, x in zip(self.convs, raw, strict=True))
        return self._read(o, u.dtype), DeltaNetState(windows=windows, s=s)  # type: ignore[arg-type]

    def forward(self, u: Tensor) -> Tensor:
        return self._run(u, None)[0]

    def prefill(self, u: Tensor, keep: int | None = None) -> tuple[Tensor, DeltaNetState]:
        y, state = self._run(u, u.shape[1] if keep is None else keep)
        assert state is not None
        return y, state

    def step(self, u_t: Tensor, state: DeltaNetState) -> tuple[Tensor, DeltaNetState]:
        """O(H d_k d_v) per token: one delta-rule update of ``S``."""
        convolved, windows = [], []
        for conv, proj, window in zip(
            self.convs, (self.q_proj, self.k_proj, self.v_proj), state.windows, strict=True
        ):
            x, window = conv.step(proj(u_t), window)
            convolved.append(x.unsqueeze(1))
            windows.append(window)
        q, k, v, beta = self._qkvb(u_t.unsqueeze(1), convolved)  # (B, H, 1, d)
        kt = k.transpose(-1, -2)  # (B, H, d_k, 1)
        s = state.s + beta.unsqueeze(-1) * kt @ (v - kt.transpose(-1, -2) @ state.s)
        return self._read(q @ s, u_t.dtype)[:, 0], DeltaNetState(windows=tuple(windows), s=s)

    def state_size(self, sequence_length: int) -> int:
        """Constant in L: H x d_k x d_v fast weights (zoology's count) + 3 conv windows."""
        conv = self.convs[0].kernel_size - 1
        return self.num_heads * self.head_dim**2 + 3 * self.d_model * conv

    def residual_projections(self) -> list[nn.Linear]:
        return [self.o_proj]
