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
``step``. The parallel pass groups positions by token (a stable sort), so that each
query scores only a window of keys near its own token's earlier occurrences:
O(L * (64 + K)) time and memory for at most K earlier occurrences of a token, instead
of the O(L^2) of a dense masked attention. The dense form (:func:`repeated_bigram_mask`)
stays as the definition the tests compare against and serves one-token decoding
steps, where a mask over the history is O(L) anyway.
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


SORTED_BLOCK = 64  # queries per block of :meth:`SparseAttention._attend_by_token`


class SparseAttention(CausalSelfAttention):
    """Attention's projections (``c_attn``, ``c_proj``, head checks) with the repeated-bigram
    pattern of :func:`repeated_bigram_mask`; registered as ``sparse_attention``."""

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

    def _attend_by_token(
        self, q: Tensor, keys: Tensor, values: Tensor, token_ids: Tensor
    ) -> Tensor:
        """The same attention as :meth:`_attend` with :func:`repeated_bigram_mask`
        (tested), without an L x L mask: q, keys, values (B, H, L, dh) -> (B, L, D).

        Sorting each row's positions by token (stably) lines up the occurrences of every
        token, in order; the query at sorted place p may read the keys that followed the
        occurrences just before it in its run. So queries are taken in blocks of
        ``SORTED_BLOCK`` sorted places, each against a window of the keys up to W places
        back, W the most earlier occurrences of any token: O(L * (block + W)) scores,
        against L^2 / 2 for the dense form (L / vocab for tokens drawn uniformly).
        """
        b, h, length, dh = q.shape
        order = torch.sort(token_ids, dim=1, stable=True).indices  # (B, L) positions
        tokens = token_ids.gather(1, order)
        starts = torch.ones_like(tokens, dtype=torch.bool)
        starts[:, 1:] = tokens[:, 1:] != tokens[:, :-1]
        group = starts.cumsum(1)  # run of equal tokens, from 1
        place = torch.arange(length, device=q.device)
        run_start = torch.cummax(torch.where(starts, place, 0), dim=1).values
        window = int((place - run_start).max())  # the most earlier occurrences of a token
        block = min(SORTED_BLOCK, length)
        blocks = -(-length // block)
        tail = blocks * block - length
        span = block + window

        def sorted_rows(x: Tensor, index: Tensor) -> Tensor:  # (B, H, L, dh) at index (B, L)
            return x.gather(2, index[:, None, :, None].expand(b, h, length, dh))

        follow = (order + 1).clamp(max=length - 1)  # the key after each occurrence
        q_s = F.pad(sorted_rows(q, order), (0, 0, 0, tail)).view(b, h, blocks, block, dh)
        k_w = F.pad(sorted_rows(keys, follow), (0, 0, window, tail)).unfold(2, span, block)
        v_w = F.pad(sorted_rows(values, follow), (0, 0, window, tail)).unfold(2, span, block)
        # key place j of block i is sorted place i * block - window + j
        q_group = F.pad(group, (0, tail), value=-1).view(b, blocks, 1, block, 1)
        k_group = F.pad(group, (window, tail), value=-2).unfold(1, span, block)[:, :, None, None]
        k_place = torch.arange(-window, blocks * block, device=q.device).unfold(0, span, block)
        q_place = torch.arange(blocks * block, device=q.device).view(blocks, block, 1)
        earlier = k_place[:, None, :] < q_place  # strictly earlier occurrences only
        allowed = (q_group == k_group) & earlier[None, :, None]  # (B, blocks, 1, block, span)
        allowed = allowed.transpose(1, 2)  # (B, 1, blocks, block, span)
        has_key = allowed.any(-1, keepdim=True)
        scores = (q_s @ k_w) * dh**-0.5  # (B, H, blocks, block, span)
        # an empty row would softmax to nan: give it finite scores, then zero its output
        scores = scores.masked_fill(~allowed, float("-inf")).masked_fill(~has_key, 0.0)
        y_s = (torch.softmax(scores, dim=-1) @ v_w.transpose(-1, -2)) * has_key
        y_s = y_s.view(b, h, blocks * block, dh)[:, :, :length]
        y = torch.zeros_like(y_s).scatter(2, order[:, None, :, None].expand_as(y_s), y_s)
        return self.c_proj(y.transpose(1, 2).reshape(b, length, self.d_model))

    def prefill(
        self, u: Tensor, token_ids: Tensor, keep: int | None = None
    ) -> tuple[Tensor, tuple[History, History, History]]:
        if token_ids.shape != u.shape[:2]:
            raise ValueError(
                f"token_ids {tuple(token_ids.shape)} do not match input {tuple(u.shape)}"
            )
        q, k, v = (self._heads(x) for x in self.c_attn(u).split(self.d_model, dim=-1))
        y = self._attend_by_token(q, k, v, token_ids)
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
