"""Scans for diagonal linear recurrences ``h_t = a_t * h_{t-1} + b_t``.

Mamba's selective SSM (and any diagonal recurrence whose decay depends on the input)
needs every ``h_t``. The cumulative-sum trick ``h_t = A_t * sum_s b_s / A_s`` (``A_t``
the product of decays) divides by products that underflow to zero within a few hundred
steps, so both scans here multiply decays only (all in (0, 1]) and stay stable:

- **on CPU, the loop itself**, one fused multiply-add per position written in place
  into the output: every state is read once and written once. Per position it is one
  call on a (B, ...) slice, which a CPU runs at memory speed;
- **on other devices, a parallel scan** in log2(T) vectorised steps, because there one
  kernel launch per position would cost more than the work
  (``benchmarks/bench_scan.py`` measures both; docs/performance.md):

  1. inside chunks of ``chunk`` positions, a Hillis-Steele scan: after the step with
     offset ``k``, ``b_t`` holds the sum over the last ``2k`` positions and ``a_t``
     their decay product;
  2. across chunks, the same scan over the chunk-end states;
  3. each position adds the state entering its chunk, times its in-chunk decay product.

  It does O(T log T) work on the (B, T, ...) states, about 10x the loop's on a CPU.

The backward pass is the same recurrence run backwards (``g_t = dh_t + a_{t+1} g_{t+1}``,
then ``da_t = g_t h_{t-1}`` and ``db_t = g_t``), through the same scan: an autograd
graph of the forward's slices and concatenations would cost several times more.
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


def _sequential_scan(a: Tensor, b: Tensor) -> Tensor:
    """All states from ``h_{-1} = 0``, one position at a time (the CPU path)."""
    h = torch.empty_like(b)
    h[:, 0] = b[:, 0]
    for t in range(1, b.shape[1]):
        torch.addcmul(b[:, t], a[:, t], h[:, t - 1], out=h[:, t])
    return h


def _sequential_reverse(a: Tensor, grad: Tensor) -> Tensor:
    """``g_t = grad_t + a_{t+1} g_{t+1}`` from the last position back (the CPU backward)."""
    g = torch.empty_like(grad)
    g[:, -1] = grad[:, -1]
    for t in range(grad.shape[1] - 2, -1, -1):
        torch.addcmul(grad[:, t], a[:, t + 1], g[:, t + 1], out=g[:, t])
    return g


class _LinearScan(torch.autograd.Function):
    """The scan with its backward written as the reverse recurrence."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, b: Tensor, chunk: int, sequential: bool) -> Tensor:
        h = _sequential_scan(a, b) if sequential else _chunked_scan(a, b, chunk)
        ctx.save_for_backward(a, h)
        ctx.chunk, ctx.sequential = chunk, sequential
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, None, None]:
        a, h = ctx.saved_tensors
        grad = grad.contiguous()
        if ctx.sequential:
            g = _sequential_reverse(a, grad)
        else:  # the forward scan over reversed time
            a_next = torch.cat([a[:, 1:], torch.zeros_like(a[:, :1])], 1)
            g = _chunked_scan(a_next.flip(1), grad.flip(1), ctx.chunk).flip(1)
        grad_a = torch.empty_like(g)  # g_t h_{t-1}, with h_{-1} = 0
        grad_a[:, 0] = 0
        torch.mul(g[:, 1:], h[:, :-1], out=grad_a[:, 1:])
        return grad_a, g, None, None


def linear_scan(
    a: Tensor,
    b: Tensor,
    h0: Tensor | None = None,
    chunk: int = 64,
    sequential: bool | None = None,
) -> Tensor:
    """All states of ``h_t = a_t * h_{t-1} + b_t`` (t along dim 1), from ``h0`` (or 0).

    ``a`` and ``b`` are (B, L, ...) with equal shapes; ``h0`` is (B, ...). Returns (B, L, ...).
    ``sequential`` None picks the loop on CPU and the parallel scan elsewhere; ``chunk``
    is the parallel scan's chunk length. Both give the same states up to round-off.
    """
    if h0 is not None:  # fold the initial state into the first input
        b = torch.cat([b[:, :1] + a[:, :1] * h0.unsqueeze(1), b[:, 1:]], 1)
    if sequential is None:
        sequential = a.device.type == "cpu"
    return _LinearScan.apply(a.contiguous(), b.contiguous(), chunk, sequential)
