"""Sliding-window causal attention (zoology's ``SlidingAttn``; Based's local layer).

Softmax attention in which position t sees only positions ``t - window .. t``: exact
recall of recent tokens with a state of ``window`` keys and values, whatever the sequence
length. Based (Arora et al. 2024) pairs it with the Taylor linear attention of
:mod:`.based`. As zoology's ``SlidingAttn``: one fused ``qkv`` projection with biases, an
output projection, one head by default (``num_heads``), and ``window`` past positions
plus the current one (zoology's ``block_size``). Based's paper uses windows of 64-128.

Training attends block by block: the queries of a block of ``window`` positions see
their own block and the one before, so the cost is O(L * window), not O(L^2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from lolameme.models.mixers.attention import CausalSelfAttention


class SlidingWindowAttention(CausalSelfAttention):
    name = "sliding_window"
    position_aware = False
    default_num_heads = 1

    def __init__(
        self,
        d_model: int,
        layer_idx: int,
        n_layers: int,
        *,
        l_max: int,
        num_heads: int = 1,
        window: int = 64,
    ) -> None:
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max, num_heads=num_heads)
        if problem := self.config_problem(d_model, {"num_heads": num_heads, "window": window}):
            raise ValueError(problem)
        self.window = window

    @classmethod
    def config_problem(cls, d_model: int, kwargs: Mapping[str, Any]) -> str | None:
        window = kwargs.get("window", 64)
        if not isinstance(window, int) or window < 1:
            return f"window must be a positive integer, got {window}"
        return super().config_problem(d_model, kwargs)

    def _attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """(B, H, L, d) each -> (B, H, L, d), each query over its window."""
        b, h, length, d = q.shape
        w = self.window
        pad = -length % w
        if pad:
            q, k, v = (F.pad(x, (0, 0, 0, pad)) for x in (q, k, v))
        n = (length + pad) // w
        q = q.view(b, h, n, w, d)
        k, v = k.view(b, h, n, w, d), v.view(b, h, n, w, d)
        # keys of block c: blocks c-1 and c, i.e. positions (c-1)w .. (c+1)w - 1
        k = torch.cat([F.pad(k, (0, 0, 0, 0, 1, 0))[:, :, :-1], k], dim=3)
        v = torch.cat([F.pad(v, (0, 0, 0, 0, 1, 0))[:, :, :-1], v], dim=3)
        i = torch.arange(w, device=q.device)[:, None]
        j = torch.arange(2 * w, device=q.device)[None, :]
        lag = w + i - j  # query position minus key position
        mask = (lag >= 0) & (lag <= w)  # (w, 2w)
        first = mask & (j >= w)  # block 0 has no earlier block
        masks = torch.cat([first[None], mask[None].expand(n - 1, w, 2 * w)], 0)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=masks)
        return y.reshape(b, h, n * w, d)[:, :, :length]

    def forward(self, u: Tensor) -> Tensor:
        return self._out(self._attend(*self._qkv(u)))

    def prefill(self, u: Tensor, keep: int | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        q, k, v = self._qkv(u)
        keep = u.shape[1] if keep is None else keep
        start = max(0, keep - self.window)
        return self._out(self._attend(q, k, v)), (k[:, :, start:keep], v[:, :, start:keep])

    def step(self, u_t: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Any]:
        """The last ``window`` keys and values, plus the new one, are all it reads."""
        q, k, v = self._qkv(u_t.unsqueeze(1))
        keys = torch.cat([state[0], k], dim=2)
        values = torch.cat([state[1], v], dim=2)
        y = F.scaled_dot_product_attention(q, keys, values)
        return self._out(y)[:, 0], (keys[:, :, -self.window :], values[:, :, -self.window :])

    def state_size(self, sequence_length: int) -> int:
        """A key and a value of width D for each of the last ``window`` positions."""
        return 2 * self.d_model * min(sequence_length, self.window)
