"""GPT-2 causal multi-head self-attention (Radford et al. 2019).

A fused ``c_attn`` projection gives queries, keys and values, with biases, as in
GPT-2; ``F.scaled_dot_product_attention`` applies the causal mask and the
``1/sqrt(head_dim)`` scale; ``c_proj`` writes back into the residual stream.
Attention does not tell positions apart by itself, so a model made only of
attention gets learned position embeddings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from lolameme.models.mixers.base import Mixer
from lolameme.models.ops import History


class CausalSelfAttention(Mixer):
    name = "attention"
    position_aware = False
    default_num_heads = 12

    def __init__(
        self, d_model: int, layer_idx: int, n_layers: int, *, l_max: int, num_heads: int = 12
    ) -> None:
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        if problem := self.config_problem(d_model, {"num_heads": num_heads}):
            raise ValueError(problem)
        self.num_heads = num_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.c_proj = nn.Linear(d_model, d_model)

    @classmethod
    def config_problem(cls, d_model: int, kwargs: Mapping[str, Any]) -> str | None:
        heads = kwargs.get("num_heads", cls.default_num_heads)
        if not isinstance(heads, int) or heads <= 0 or d_model % heads:
            return f"width {d_model} is not divisible into num_heads={heads} heads"
        return None

    def _qkv(self, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, L, D) -> three (B, H, L, D/H) tensors."""
        b, length, _ = u.shape
        q, k, v = self.c_attn(u).split(self.d_model, dim=-1)
        shape = (b, length, self.num_heads, self.d_model // self.num_heads)
        return tuple(x.view(shape).transpose(1, 2) for x in (q, k, v))  # type: ignore[return-value]

    def _out(self, y: Tensor) -> Tensor:
        """(B, H, L, D/H) -> (B, L, D), through the output projection."""
        b, _, length, _ = y.shape
        return self.c_proj(y.transpose(1, 2).reshape(b, length, self.d_model))

    def forward(self, u: Tensor) -> Tensor:
        q, k, v = self._qkv(u)
        return self._out(F.scaled_dot_product_attention(q, k, v, is_causal=True))

    def prefill(self, u: Tensor, keep: int | None = None) -> tuple[Tensor, tuple[History, History]]:
        q, k, v = self._qkv(u)
        y = self._out(F.scaled_dot_product_attention(q, k, v, is_causal=True))
        return y, (History(k[:, :, :keep], dim=2), History(v[:, :, :keep], dim=2))

    def step(self, u_t: Tensor, state: tuple[History, History]) -> tuple[Tensor, Any]:
        q, k, v = self._qkv(u_t.unsqueeze(1))
        keys, values = state[0].append(k[:, :, 0]), state[1].append(v[:, :, 0])
        # one query that may see every cached position: no mask needed
        y = F.scaled_dot_product_attention(q, keys.values, values.values)
        return self._out(y)[:, 0], (keys, values)

    def state_size(self, sequence_length: int) -> int:
        """The KV cache: a key and a value of width D for every position (zoology's 2*L*D)."""
        return 2 * self.d_model * sequence_length

    def residual_projections(self) -> list[nn.Linear]:
        return [self.c_proj]
