"""Based's linear attention (Arora et al. 2024, arXiv 2402.18668; zoology's ``Based``).

    q, k = phi(proj_q(u)), phi(proj_k(u))           # per head, feature_dim -> Taylor features
    y_t = sum_{s<=t} (q_t . k_s) v_s / (sum_{s<=t} q_t . k_s + eps)
    phi(x) . phi(x') = 1 + x.x' / sqrt(d) + (x.x')^2 / (2d)  # Taylor: exp(x.x' / sqrt(d))

The kernel is positive for any inputs (``1 + a + a^2/2 > 0``), so the normaliser never
vanishes. We build ``phi`` with the ``d(d+1)/2`` distinct second-order products (the
form of zoology's ``TaylorExp.forward_mem_save``): the same kernel as zoology's default
``d^2``-product form, with the state size zoology reports. The recurrent state is the
running sum of ``phi(k) v^T`` and of ``phi(k)``: constant in the sequence length.

Based itself pairs this layer with short convolutions and sliding-window attention
(``sliding_window``, :mod:`.sliding_window`): the Taylor layer recalls over the whole
sequence with a fixed state, the window attention is exact nearby. In lolameme they are
separate mixers combined by a layer pattern, e.g. ``base_conv,based,sliding_window``.

Training computes the causal sums chunk by chunk: exact quadratic attention inside a
chunk of ``chunk_size`` positions, the running state between chunks (O(L) in length).
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


def taylor_features(x: Tensor) -> Tensor:
    """(..., d) -> (..., 1 + d + d(d+1)/2), ``phi(x).phi(y) = 1 + x.y/sqrt(d) + (x.y)^2/(2d)``.

    ``(x.y)^2 = sum_m x_m^2 y_m^2 + 2 sum_{m>n} x_m x_n y_m y_n``: the squares carry
    weight ``1/sqrt(2d)`` each, the distinct cross products ``1/sqrt(d)``.
    """
    d = x.shape[-1]
    rows, cols = torch.tril_indices(d, d, -1, device=x.device)
    scale = math.sqrt(math.sqrt(d))
    return torch.cat(
        [
            torch.ones_like(x[..., :1]),
            x / scale,
            x * x / (math.sqrt(2) * scale * scale),
            x[..., rows] * x[..., cols] / (scale * scale),
        ],
        dim=-1,
    )


def causal_linear_attention(q: Tensor, k: Tensor, v: Tensor, chunk: int) -> Tensor:
    """``out_t = sum_{s<=t} (q_t . k_s) v_s`` for (B, H, L, f), (B, H, L, f), (B, H, L, e)."""
    b, h, length, f = q.shape
    chunk = max(1, min(chunk, length))
    pad = -length % chunk
    if pad:  # zero keys and values contribute nothing; padded queries are cut off
        q, k, v = (F.pad(x, (0, 0, 0, pad)) for x in (q, k, v))
    n = (length + pad) // chunk
    q, k = q.view(b, h, n, chunk, f), k.view(b, h, n, chunk, f)
    v = v.view(b, h, n, chunk, -1)
    mask = torch.ones(chunk, chunk, dtype=torch.bool, device=q.device).tril()
    intra = (q @ k.transpose(-1, -2)).masked_fill(~mask, 0.0) @ v
    kv = k.transpose(-1, -2) @ v  # (B, H, n, f, e): each chunk's sum of k v^T
    before = kv.cumsum(dim=2) - kv  # the state entering each chunk
    out = intra + q @ before
    return out.view(b, h, n * chunk, -1)[:, :, :length]


@dataclass
class BasedState:
    """Running sums over the past: ``sum phi(k) v^T`` with ``sum phi(k)`` as a last column."""

    kv: Tensor  # (B, H, f, head_dim + 1), float32


class Based(Mixer):
    name = "based"
    position_aware = False  # linear attention is blind to order, like attention

    def __init__(
        self,
        d_model: int,
        layer_idx: int,
        n_layers: int,
        *,
        l_max: int,
        feature_dim: int = 16,
        num_heads: int = 1,
        eps: float = 1e-12,
        chunk_size: int = 64,
    ) -> None:
        """Defaults are zoology's MQAR settings for Based (feature_dim 16, one head)."""
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        if problem := self.config_problem(
            d_model, {"feature_dim": feature_dim, "num_heads": num_heads}
        ):
            raise ValueError(problem)
        self.feature_dim, self.num_heads = feature_dim, num_heads
        self.head_dim = d_model // num_heads
        self.eps, self.chunk_size = eps, chunk_size
        self.proj_q = nn.Linear(d_model, feature_dim * num_heads, bias=False)
        self.proj_k = nn.Linear(d_model, feature_dim * num_heads, bias=False)
        self.proj_v = nn.Linear(d_model, d_model, bias=False)
        self.proj_o = nn.Linear(d_model, d_model, bias=False)

    @classmethod
    def config_problem(cls, d_model: int, kwargs: Mapping[str, Any]) -> str | None:
        heads, feature_dim = kwargs.get("num_heads", 1), kwargs.get("feature_dim", 16)
        if not isinstance(heads, int) or heads <= 0 or d_model % heads:
            return f"width {d_model} is not divisible into num_heads={heads} heads"
        if not isinstance(feature_dim, int) or feature_dim < 1:
            return f"feature_dim must be a positive integer, got {feature_dim}"
        return None

    @property
    def expanded_dim(self) -> int:
        d = self.feature_dim
        return 1 + d + d * (d + 1) // 2

    def _features(self, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, L, D) -> phi(q), phi(k) (B, H, L, f) and [v, 1] (B, H, L, head_dim + 1), fp32."""
        b, length, _ = u.shape

        def heads(x: Tensor, width: int) -> Tensor:
            return x.view(b, length, self.num_heads, width).transpose(1, 2).float()

        q = taylor_features(heads(self.proj_q(u), self.feature_dim))
        k = taylor_features(heads(self.proj_k(u), self.feature_dim))
        v = heads(self.proj_v(u), self.head_dim)
        return q, k, torch.cat([v, torch.ones_like(v[..., :1])], dim=-1)

    def _read(self, out: Tensor, dtype: torch.dtype) -> Tensor:
        """(B, H, L, head_dim + 1) numerator and normaliser -> (B, L, D) output."""
        b, _, length, _ = out.shape
        y = out[..., :-1] / (out[..., -1:] + self.eps)
        return self.proj_o(y.transpose(1, 2).reshape(b, length, self.d_model).to(dtype))

    def forward(self, u: Tensor) -> Tensor:
        q, k, v1 = self._features(u)
        return self._read(causal_linear_attention(q, k, v1, self.chunk_size), u.dtype)

    def prefill(self, u: Tensor, keep: int | None = None) -> tuple[Tensor, BasedState]:
        q, k, v1 = self._features(u)
        y = self._read(causal_linear_attention(q, k, v1, self.chunk_size), u.dtype)
        return y, BasedState(kv=k[:, :, :keep].transpose(-1, -2) @ v1[:, :, :keep])

    def step(self, u_t: Tensor, state: BasedState) -> tuple[Tensor, BasedState]:
        """O(state) per token: add ``phi(k) [v, 1]^T`` to the sums, read them with ``phi(q)``."""
        q, k, v1 = self._features(u_t.unsqueeze(1))
        kv = state.kv + k.transpose(-1, -2) @ v1
        return self._read(q @ kv, u_t.dtype)[:, 0], BasedState(kv=kv)

    def state_size(self, sequence_length: int) -> int:
        """Constant in L, zoology's count: H x (head_dim + 1) x the expanded feature dim."""
        return self.num_heads * (self.head_dim + 1) * self.expanded_dim

    def residual_projections(self) -> list[nn.Linear]:
        return [self.proj_o]
