"""RWKV-4's WKV operator (Peng et al. 2023, arXiv 2305.13048), stable, in pure PyTorch.

Per channel, with decay ``w > 0`` and bonus ``u``, the output at position t is a
softmax-like average of the values seen so far::

    wkv_t = (sum_{i<t} e^{k_i - (t-1-i) w} v_i + e^{u + k_t} v_t)
          / (sum_{i<t} e^{k_i - (t-1-i) w}     + e^{u + k_t})

Exponentials of keys overflow float32 quickly (``e^89`` is inf), so every sum is kept
as ``(num, den, log_scale)`` meaning ``num * e^log_scale``: the running-max trick of
the official CUDA kernel. Two forms compute the same numbers:

- :func:`wkv_step`: one position from the state, O(1) in the sequence length; for decoding.
- :func:`wkv_parallel`: the whole sequence for training. The sequence is cut into
  chunks of ``chunk`` positions; inside a chunk every (output, input) pair gets its
  log-weight ``k_i - distance * w`` directly (no cumulative sums of ``i * w``, whose
  float32 round-off would swamp the weights at large ``w`` or long ``L``); only the
  chunk states are carried sequentially, ``L / chunk`` cheap steps. Work and memory
  are O(L * chunk * C), never O(L^2). A chunk of 8 was fastest on CPU (2-4x faster
  than 32 at L = 512 .. 8192; the pairwise work grows with the chunk, the sequential
  part shrinks).

The stabilising maxima are detached: the represented value ``num * e^log_scale`` does
not depend on them, so gradients are exact without differentiating through ``max``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

# log of "zero weight": finite, so differences with it never give inf - inf = nan
NEG = -1e38


@dataclass
class WKVState:
    """The sums over all past positions, each row ``(B, C)``: ``num * e^log_scale`` etc."""

    num: Tensor
    den: Tensor
    log_scale: Tensor

    @classmethod
    def empty(cls, batch: int, channels: int, *, device: torch.device | None = None) -> WKVState:
        zeros = torch.zeros(batch, channels, device=device)
        return cls(num=zeros, den=zeros.clone(), log_scale=torch.full_like(zeros, NEG))


def _merge(
    a: tuple[Tensor, Tensor, Tensor], b: tuple[Tensor, Tensor, Tensor]
) -> tuple[Tensor, Tensor, Tensor]:
    """Add two scaled sums ``(num, den, log_scale)`` under a common (detached) maximum."""
    scale = torch.maximum(a[2], b[2]).detach()
    ea, eb = torch.exp(a[2] - scale), torch.exp(b[2] - scale)
    return ea * a[0] + eb * b[0], ea * a[1] + eb * b[1], scale


def wkv_step(
    w: Tensor, u: Tensor, k: Tensor, v: Tensor, state: WKVState
) -> tuple[Tensor, WKVState]:
    """One position: ``w``, ``u`` (C,), ``k``, ``v`` (B, C) -> wkv (B, C), the next state."""
    ones = torch.ones_like(k)
    num, den, _ = _merge((state.num, state.den, state.log_scale), (v, ones, u + k))
    y = num / den
    num, den, scale = _merge((state.num, state.den, state.log_scale - w), (v, ones, k))
    return y, WKVState(num=num, den=den, log_scale=scale)


def wkv_parallel(
    w: Tensor,
    u: Tensor,
    k: Tensor,
    v: Tensor,
    state: WKVState | None = None,
    *,
    chunk: int = 8,
) -> tuple[Tensor, WKVState]:
    """The whole sequence: ``k``, ``v`` (B, L, C) -> wkv (B, L, C), the state after it.

    ``state`` continues an earlier sequence (default: nothing seen yet).
    """
    batch, length, channels = k.shape
    if state is None:
        state = WKVState.empty(batch, channels, device=k.device)
    size = max(1, min(chunk, length))
    # pad at the FRONT with weightless inputs (k = NEG), so the final state stays exact
    pad = (-length) % size
    k = F.pad(k.float(), (0, 0, pad, 0), value=NEG)
    v = F.pad(v.float(), (0, 0, pad, 0))
    n = (length + pad) // size
    k, v = k.view(batch, n, size, channels), v.view(batch, n, size, channels)

    # rows j = 0..size-1 are outputs, row j = size is the state at the chunk's end;
    # columns i are the chunk's inputs. Input i reaches row j after j-1-i decay steps.
    j = torch.arange(size + 1, device=k.device)[:, None]
    i = torch.arange(size, device=k.device)[None, :]
    steps = (j - 1 - i).clamp(min=0).to(k.dtype)[..., None]  # (size+1, size, 1)
    kk = k[:, :, None]  # (B, n, 1, size, C)
    log_w = torch.where((i == j)[..., None], u + kk, kk - steps * w)
    log_w = torch.where((i <= j)[..., None], log_w, NEG)  # (B, n, size+1, size, C)
    local_scale = log_w.amax(dim=3).detach()  # (B, n, size+1, C)
    weights = torch.exp(log_w - local_scale[:, :, :, None])
    local_num = (weights * v[:, :, None]).sum(dim=3)
    local_den = weights.sum(dim=3)

    # carry the state across chunks: the only sequential part, L / chunk steps of (B, C).
    # The front padding decays the incoming state for ``pad`` steps: undo that first.
    decay_chunk = size * w
    carried = (state.num, state.den, state.log_scale + pad * w)
    ends = zip(*(t[:, :, size].unbind(1) for t in (local_num, local_den, local_scale)), strict=True)
    starts = []
    for end in ends:
        starts.append(carried)
        carried = _merge((carried[0], carried[1], carried[2] - decay_chunk), end)
    start_num, start_den, start_scale = (torch.stack(s, dim=1) for s in zip(*starts, strict=True))

    # each output = its chunk's start state decayed by j steps + the chunk's own inputs
    decay_rows = j[:size].to(k.dtype) * w  # (size, C)
    num, den, _ = _merge(
        (start_num[:, :, None], start_den[:, :, None], start_scale[:, :, None] - decay_rows),
        (local_num[:, :, :size], local_den[:, :, :size], local_scale[:, :, :size]),
    )
    y = (num / den).reshape(batch, n * size, channels)[:, pad:]
    final = WKVState(num=carried[0], den=carried[1], log_scale=carried[2])
    return y, final
