"""A parallel scan for diagonal linear recurrences ``h_t = a_t * h_{t-1} + b_t``.

Mamba's selective SSM (and any diagonal recurrence whose decay depends on the input)
needs every ``h_t``. A Python loop over time is exact but slow; the cumulative-sum
trick ``h_t = A_t * sum_s b_s / A_s`` (``A_t`` the product of decays) divides by
products that underflow to zero within a few hundred steps. This scan multiplies
decays only (all in (0, 1]), so it is stable, and takes log2(T) vectorised steps:

1. inside chunks of ``chunk`` positions, a Hillis-Steele scan: after the step with
   offset ``k``, ``b_t`` holds the sum over the last ``2k`` positions and ``a_t`` their
   decay product;
2. across chunks, the same scan over the chunk-end states;
3. each position adds the state entering its chunk, times its in-chunk decay product.

The backward pass is the same recurrence run backwards (``g_t = dh_t + a_{t+1} g_{t+1}``,
then ``da_t = g_t h_{t-1}`` and ``db_t = g_t``), through the same scan: an autograd
graph of the forward scan's slices and concatenations would cost several times more.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable


def _inclusive_scan(a: Tensor, b: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """``h_t = a_t h_{t-1} + b_t`` from ``h_{-1} = 0`` along ``dim``; also ``prod_{s<=t} a_s``.

    Works on copies, in place (the callers run without an autograd graph): ``torch.cat``
    of strided slices was most of the time.
    """
    a, b = a.clone(), b.clone()
    length = a.shape[dim]
    offset = 1
    while offset < length:
        later_a = a.narrow(dim, offset, length - offset)
        earlier_a = a.narrow(dim, 0, length - offset)
        b.narrow(dim, offset, length - offset).add_(later_a * b.narrow(dim, 0, length - offset))
        later_a.copy_(later_a * earlier_a)  # a product first: the two slices overlap
        offset *= 2
    return b, a


def _chunked_scan(a: Tensor, b: Tensor, chunk: int) -> Tensor:
    """All states from ``h_{-1} = 0``: the scan of the module docstring, steps 1-3."""
    batch, length = a.shape[:2]
    rest = a.shape[2:]
    chunk = max(1, min(chunk, length))
    pad = -length % chunk
    if pad:  # decay 1, input 0: the padding changes nothing before it
        widths = [0, 0] * len(rest) + [0, pad]
        a, b = F.pad(a, widths, value=1.0), F.pad(b, widths)
    n_chunks = (length + pad) // chunk
    a = a.reshape(batch, n_chunks, chunk, *rest)
    b = b.reshape(batch, n_chunks, chunk, *rest)
    h_local, decay = _inclusive_scan(a, b, dim=2)
    if n_chunks > 1:
        ends, _ = _inclusive_scan(decay[:, :, -1], h_local[:, :, -1], dim=1)
        entering = torch.cat([torch.zeros_like(ends[:, :1]), ends[:, :-1]], 1)
        h_local = h_local + decay * entering.unsqueeze(2)
    return h_local.reshape(batch, n_chunks * chunk, *rest)[:, :length]


class _LinearScan(torch.autograd.Function):
    """The scan with its backward written as the reverse recurrence."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, b: Tensor, chunk: int) -> Tensor:
        h = _chunked_scan(a, b, chunk)
        ctx.save_for_backward(a, h)
        ctx.chunk = chunk
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, None]:
        a, h = ctx.saved_tensors
        # g_t = grad_t + a_{t+1} g_{t+1}: the forward scan over reversed time
        a_next = torch.cat([a[:, 1:], torch.zeros_like(a[:, :1])], 1)
        g = _chunked_scan(a_next.flip(1), grad.flip(1), ctx.chunk).flip(1)
        h_prev = torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], 1)
        return g * h_prev, g, None


def linear_scan(a: Tensor, b: Tensor, h0: Tensor | None = None, chunk: int = 64) -> Tensor:
    """All states of ``h_t = a_t * h_{t-1} + b_t`` (t along dim 1), from ``h0`` (or 0).

    ``a`` and ``b`` are (B, L, ...) with equal shapes; ``h0`` is (B, ...). Returns (B, L, ...).
    """
    if h0 is not None:  # fold the initial state into the first input
        b = torch.cat([b[:, :1] + a[:, :1] * h0.unsqueeze(1), b[:, 1:]], 1)
    return _LinearScan.apply(a, b, chunk)
