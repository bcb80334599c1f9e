"""Zoology's input-dependent sparse attention (Arora et al. 2023, arXiv 2312.04927, sec. 5).

Attention restricted to repeated bigrams: the query at position t (token ``x_t``) may
attend only to positions ``s + 1`` such that ``s < t`` and ``x_s = x_t``, i.e. to the
tokens that FOLLOWED earlier occurrences of the current token. That is exactly what
associative recall needs (seen ``k v`` before, now seeing ``k``: look at what followed
it), and the positions come from the token ids, not from learned weights: the
"programmatic" selection of the paper. A position with no earlier occurrence of its
token attends to nothing and outputs zero. Zoology places such a layer in a BaseConv
stack at under 10% of the layers, e.g. ``base_conv*8,sparse_attention,base_conv*9``.

Because the pattern needs the token ids, this mixer sets ``needs_token_ids``: the
model passes ``token_ids`` (B, L) to its ``forward``/``prefill`` and each new id to
``step``. The parallel pass is gather-based: each query scores only its own allowed
keys (:func:`repeated_bigram_keys`), O(L * K) time and memory for at most K earlier
occurrences of a token, instead of the O(L^2) of a dense masked attention. The dense
form (:func:`repeated_bigram_mask`) stays as the definition the tests compare against
and serves one-token decoding steps, where a mask over the history is O(L) anyway.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lolameme.models.mixers.attention import CausalSelfAttention
from lolameme.models.ops import History


def repeated_bigram_mask(token_ids: Tensor) -> Tensor:
    """(B, L) ids -> (B, L, L) bool: ``mask[b, t, j]`` iff ``j >= 1``, ``j <= t`` and
    ``ids[b, j - 1] == ids[b, t]`` (key j follows an earlier occurrence of token t)."""
    length = token_ids.shape[1]
    same = token_ids[:, :, None] == token_ids[:, None, :-1]  # (B, t, s = j - 1)
    earlier = torch.ones(length, length - 1, dtype=torch.bool, device=token_ids.device).tril(-1)
    return F.pad(same & earlier, (1, 0))  # shift columns s -> j = s + 1, j = 0 never


def repeated_bigram_keys(token_ids: Tensor) -> tuple[Tensor, Tensor]:
    """(B, L) ids -> the allowed keys of every query as indices (B, L, K) and a validity
    mask (B, L, K), K the largest number of earlier occurrences of any token.

    Sorting each row's positions by token (stably) puts the occurrences of a token next
    to each other, in order: the query at sorted place p, the r-th occurrence of its
    token, may read keys ``1 + sorted[p - r + i]`` for i < r (what followed each earlier
    occurrence). Nothing is quadratic in L but the output when a token repeats L times.
    """
    b, length = token_ids.shape
    order = torch.sort(token_ids, dim=1, stable=True).indices  # positions, grouped by token
    tokens = token_ids.gather(1, order)
    start = torch.ones_like(tokens, dtype=torch.bool)
    start[:, 1:] = tokens[:, 1:] != tokens[:, :-1]  # a group of equal tokens begins here
    place = torch.arange(length, device=token_ids.device).expand(b, length)
    group_start = torch.cummax(torch.where(start, place, 0), dim=1).values
    rank_sorted = place - group_start  # earlier occurrences of the same token
    rank = torch.empty_like(rank_sorted).scatter_(1, order, rank_sorted)  # by position
    first = torch.empty_like(group_start).scatter_(1, order, group_start)
    k = max(int(rank.max()), 1)
    i = torch.arange(k, device=token_ids.device)
    valid = i < rank.unsqueeze(-1)  # (B, L, K)
    where = (first.unsqueeze(-1) + i).clamp(max=length - 1)  # sorted places of occurrences
    keys = order.gather(1, where.flatten(1)).view(b, length, k) + 1
    return torch.where(valid, keys, 0), valid


class RepeatedBigramAttention(CausalSelfAttention):
    """Attention's projections (``c_attn``, ``c_proj``, head checks) with its own pattern."""

    name = "sparse_attention"
    position_aware = False
    needs_token_ids = True
    default_num_heads = 1

    def __init__(
        self, d_model: int, layer_idx: int, n_layers: int, *, l_max: int, num_heads: int = 1
    ) -> None:
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max, num_heads=num_heads)

    def _heads(self, x: Tensor) -> Tensor:
        """(B, L, D) -> (B, H, L, D/H)."""
        b, length, _ = x.shape
        return x.view(b, length, self.num_heads, -1).transpose(1, 2)

    def _attend(self, q: Tensor, keys: Tensor, values: Tensor, mask: Tensor) -> Tensor:
        """Masked attention (B, H, Lq, dh) -> (B, Lq, D); rows without a key give zero."""
        has_key = mask.any(-1, keepdim=True)  # (B, Lq, 1)
        # an empty row would softmax to nan: let it see key 0, then zero its output
        safe = mask.clone()
        safe[..., 0] |= ~has_key[..., 0]
        y = F.scaled_dot_product_attention(q, keys, values, attn_mask=safe.unsqueeze(1))
        b, _, length, _ = y.shape
        return self.c_proj(y.transpose(1, 2).reshape(b, length, self.d_model) * has_key)

    def _attend_gathered(
        self, q: Tensor, keys: Tensor, values: Tensor, index: Tensor, valid: Tensor
    ) -> Tensor:
        """Attention over gathered keys: q, keys, values (B, H, L, dh); ``index`` and
        ``valid`` (B, L, K) from :func:`repeated_bigram_keys` -> (B, L, D). Equal to
        :meth:`_attend` with the dense mask (tested), rows without a key give zero."""
        b, h, length, dh = q.shape
        flat = index.view(b, 1, -1, 1).expand(b, h, -1, dh)  # (B, H, L*K, dh)
        k_g = keys.gather(2, flat).view(b, h, length, -1, dh)
        v_g = values.gather(2, flat).view(b, h, length, -1, dh)
        scores = (q.unsqueeze(3) @ k_g.transpose(-1, -2)).squeeze(3) * dh**-0.5  # (B,H,L,K)
        scores = scores.masked_fill(~valid.unsqueeze(1), float("-inf"))
        has_key = valid.any(-1)  # (B, L)
        # an empty row would softmax to nan: give it finite scores, then zero its output
        weights = torch.softmax(scores.masked_fill(~has_key[:, None, :, None], 0.0), dim=-1)
        y = (weights.unsqueeze(3) @ v_g).squeeze(3)  # (B, H, L, dh)
        y = y.transpose(1, 2).reshape(b, length, self.d_model) * has_key.unsqueeze(-1)
        return self.c_proj(y)

    def prefill(
        self, u: Tensor, token_ids: Tensor, keep: int | None = None
    ) -> tuple[Tensor, tuple[History, History, History]]:
        if token_ids.shape != u.shape[:2]:
            raise ValueError(
                f"token_ids {tuple(token_ids.shape)} do not match input {tuple(u.shape)}"
            )
        q, k, v = (self._heads(x) for x in self.c_attn(u).split(self.d_model, dim=-1))
        y = self._attend_gathered(q, k, v, *repeated_bigram_keys(token_ids))
        kept = (History(k[:, :, :keep], 2), History(v[:, :, :keep], 2))
        return y, (*kept, History(token_ids[:, :keep], 1))

    def forward(self, u: Tensor, token_ids: Tensor) -> Tensor:
        return self.prefill(u, token_ids)[0]

    def step(
        self, u_t: Tensor, state: tuple[History, History, History], token_ids: Tensor
    ) -> tuple[Tensor, tuple[History, History, History]]:
        """One position (B, D) with its token ids (B,); the state holds every K, V and id."""
        keys, values, ids = state
        q, k, v = (self._heads(x) for x in self.c_attn(u_t.unsqueeze(1)).split(self.d_model, -1))
        keys, values = keys.append(k[:, :, 0]), values.append(v[:, :, 0])
        # key j in 1..t is allowed iff ids[j - 1] == the new id; key 0 never
        mask = F.pad(ids.values == token_ids.unsqueeze(1), (1, 0)).unsqueeze(1)  # (B, 1, t + 1)
        y = self._attend(q, keys.values, values.values, mask)
        return y[:, 0], (keys, values, ids.append(token_ids))

    def state_size(self, sequence_length: int) -> int:
        """A KV cache like attention (2 x L x D) plus the L token ids."""
        return 2 * self.d_model * sequence_length + sequence_length

    def residual_projections(self) -> list[nn.Linear]:
        return [self.c_proj]
