"""Convolution primitives shared by the convolutional mixers (Hyena, BaseConv, H3).

Layout is channels-last, ``(B, L, C)``: the layout the mixers' linear projections read
and write, so no activation is transposed and copied on its way through a mixer. Long
convolutions run in fp32 whatever the input dtype: FFT round-off in half precision is
large enough to matter at long sequence lengths.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable


class _FFTConvFunction(torch.autograd.Function):
    """The causal FFT convolution of :func:`fft_causal_conv`, with its backward written out.

    Autograd through ``irfft(rfft(u) * rfft(k))`` differentiates ``rfft`` with a
    full-length complex transform (twice the work of a real one), and keeps copies
    of its inputs. The gradients here are two correlations, done with the spectra the
    forward pass already computed: ``du = irfft(G conj(K))`` and
    ``dk = irfft(sum_b G conj(U))`` with ``G = rfft(dy)``, all padded to 2L, so one
    real transform of ``dy`` and two inverse ones, the second only C rows long.
    """

    @staticmethod
    def forward(ctx: Any, u: Tensor, k: Tensor, D: Tensor | None) -> Tensor:
        length = u.shape[1]
        n = 2 * length
        u32 = u.float()
        u_f = torch.fft.rfft(u32.transpose(1, 2), n=n)  # (B, C, n/2 + 1)
        k_f = torch.fft.rfft(k[..., :length].float(), n=n)  # (C, n/2 + 1)
        y = torch.fft.irfft(u_f * k_f, n=n)[..., :length].transpose(1, 2)
        # the contiguous operand first, so that the sum comes out channels-last
        y = u32 * D.float() + y if D is not None else y.contiguous()
        ctx.save_for_backward(u, u_f, k_f, D)
        ctx.k_shape, ctx.k_dtype = k.shape, k.dtype
        return y.to(u.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        u, u_f, k_f, D = ctx.saved_tensors
        length = u.shape[1]
        n = 2 * length
        dy32 = dy.float()
        g_f = torch.fft.rfft(dy32.transpose(1, 2), n=n)
        du = torch.fft.irfft(g_f * k_f.conj(), n=n)[..., :length].transpose(1, 2)
        dk = torch.fft.irfft((g_f * u_f.conj()).sum(0), n=n)[..., :length]
        if ctx.k_shape[-1] > length:  # taps past L never met an input
            dk = F.pad(dk, (0, ctx.k_shape[-1] - length))
        dD = None
        if D is not None:
            dD = (dy32 * u.float()).sum((0, 1)).to(D.dtype)
            du = dy32 * D.float() + du
        else:
            du = du.contiguous()
        return du.to(u.dtype), dk.to(ctx.k_dtype), dD


def fft_causal_conv(u: Tensor, k: Tensor, D: Tensor | None = None) -> Tensor:
    """Causal convolution of ``u`` (B, L, C) with per-channel filters ``k`` (C, >= L).

    ``y[b, t, c] = sum_{s <= t} k[c, t - s] * u[b, s, c] + D[c] * u[b, t, c]``.
    Both signals are zero-padded to 2L, so the circular FFT convolution equals the
    linear one on the first L outputs (nothing wraps around from the future). The
    transforms run along the last axis of a transposed view: on CPU that was faster
    than ``torch.fft`` along the middle axis of the channels-last tensor. The result
    is channels-last and contiguous; computed in fp32, returned in ``u``'s dtype.
    """
    return _FFTConvFunction.apply(u, k, D)


def causal_conv_last(history: Tensor, k_reversed: Tensor) -> Tensor:
    """The newest output of a causal convolution: (B, T, C) history -> (B, C).

    Incremental decoding uses this instead of a whole FFT convolution: one dot
    product of the history with the first T filter taps, newest input first. The taps
    come reversed once per prompt (see :func:`reversed_taps`), so each step reads the
    last T of them as a view instead of flipping a copy per token.
    """
    steps = history.shape[1]
    return (history * k_reversed[k_reversed.shape[0] - steps :]).sum(1)


def reversed_taps(k: Tensor) -> Tensor:
    """Filter taps (C, L) -> (L, C), newest-last: the layout :func:`causal_conv_last` reads."""
    return k.flip(-1).t().contiguous()


class _Buffer:
    """Storage shared by the :class:`History` objects of one decoding chain."""

    __slots__ = ("data", "used")

    def __init__(self, data: Tensor, used: int) -> None:
        self.data = data
        self.used = used


class History:
    """Per-position values along one dimension (a KV cache, a long-conv input history),
    extended one position per decoding step without copying the past.

    A decode state must stay valid after ``step`` (the caller may decode twice from one
    prefill state). ``torch.cat`` per step keeps that, but copies the whole history at
    every token: O(L^2) per sequence, a fifth of a tiny model's decoding time. Here the
    histories of one chain share a buffer with spare room, and each knows its length:
    appending to the newest writes one slot in place; appending to an older one (a
    branch) first copies its own prefix to a fresh buffer, so no history ever sees
    another's writes. The buffer doubles when full: amortised O(1) copying per token.
    Meant for inference (``torch.inference_mode``): the writes are in place.
    """

    __slots__ = ("_buffer", "dim", "length")

    def __init__(self, values: Tensor, dim: int, *, _buffer: _Buffer | None = None) -> None:
        self.dim = dim % values.dim()
        self.length = values.shape[self.dim]
        self._buffer = _buffer or _Buffer(values, self.length)

    @property
    def values(self) -> Tensor:
        """The first ``length`` positions (a view of the buffer)."""
        return self._buffer.data.narrow(self.dim, 0, self.length)

    def append(self, x: Tensor) -> History:
        """A history one position longer: ``x`` is one position (``dim`` removed)."""
        buffer = self._buffer
        if buffer.used != self.length or buffer.data.shape[self.dim] == self.length:
            shape = list(buffer.data.shape)
            shape[self.dim] = 2 * self.length + 16
            data = buffer.data.new_empty(shape)
            data.narrow(self.dim, 0, self.length).copy_(self.values)
            buffer = _Buffer(data, self.length)
        buffer.data.select(self.dim, self.length).copy_(x)
        buffer.used = self.length + 1
        out = History.__new__(History)
        out._buffer, out.dim, out.length = buffer, self.dim, self.length + 1
        return out


class _ShortConvFunction(torch.autograd.Function):
    """``y[:, t] = bias + sum_j weight[:, j] * x[:, t - k + 1 + j]`` on channels-last input.

    Forward and backward written out: k multiply-adds into one output, each on a
    shifted view, and the matching k for the input gradient. Autograd through the same
    expression (a padded copy, k products, k - 1 sums) keeps more intermediates alive
    and makes twice as many passes over the (B, L, C) tensors.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        k, length = weight.shape[1], x.shape[1]
        # (k, C): row k - 1 - s multiplies the input s steps back. Contiguous: a tap row
        # of stride k kept every broadcast product below off torch's vectorised loops
        # (tiny Hyena's whole step 7% slower; docs/performance.md, "Models")
        taps = weight.t().contiguous()
        y = torch.addcmul(bias, x, taps[k - 1])
        for shift in range(min(k, length) - 1, 0, -1):  # oldest first, as Conv1d sums
            y[:, shift:].addcmul_(x[:, :-shift], taps[k - 1 - shift])
        ctx.save_for_backward(x, weight)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x, weight = ctx.saved_tensors
        k, length = weight.shape[1], x.shape[1]
        taps = weight.t().contiguous()
        dx = dy * taps[k - 1]
        dtaps = [dy.new_zeros(weight.shape[0]) for _ in range(k)]
        dtaps[k - 1] = (dy * x).sum((0, 1))
        for shift in range(1, min(k, length)):
            dx[:, :-shift].addcmul_(dy[:, shift:], taps[k - 1 - shift])
            dtaps[k - 1 - shift] = (dy[:, shift:] * x[:, :-shift]).sum((0, 1))
        dweight = torch.stack(dtaps, dim=1).to(weight.dtype)
        return dx.to(x.dtype), dweight, dy.sum((0, 1)).to(weight.dtype)


class ShortCausalConv(nn.Module):
    """Depthwise causal convolution with a few taps (kernel 3 in Hyena and BaseConv),
    on channels-last input ``(B, L, C)``, the layout the linear projections produce.

    The same function and parameters as ``nn.Conv1d(C, C, k, groups=C)`` over the
    left-padded, transposed input (``weight`` (C, k), ``bias`` (C), Conv1d's default
    uniform init; ``weight[:, -1]`` multiplies the newest input), computed as k shifted
    multiply-adds (:class:`_ShortConvFunction`). On CPU, forward + backward, that beat
    both the same sums through autograd on a transposed (B, C, L) view (the previous
    code) and a depthwise ``Conv1d``: ``benchmarks/bench_conv_ops.py``.
    Output t sees inputs t-k+1 .. t.
    """

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        if kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {kernel_size}")
        self.kernel_size = kernel_size
        bound = 1.0 / math.sqrt(kernel_size)  # nn.Conv1d's default for fan_in = k
        self.weight = nn.Parameter(torch.empty(channels, kernel_size).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(channels).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        """(B, L, C) -> (B, L, C)."""
        return _ShortConvFunction.apply(x, self.weight, self.bias)

    def window(self, x: Tensor) -> Tensor:
        """The last k-1 inputs of ``x`` (B, L, C), zero-padded in front: the decode state."""
        return F.pad(x, (0, 0, self.kernel_size - 1, 0))[:, x.shape[1] :]

    def step(self, x_t: Tensor, window: Tensor) -> tuple[Tensor, Tensor]:
        """One new input (B, C) and the window (B, k-1, C) -> the newest output (B, C),
        the next window."""
        full = torch.cat([window, x_t.unsqueeze(1)], dim=1)  # oldest .. newest
        return (full * self.weight.t().contiguous()).sum(1) + self.bias, full[:, 1:]
