"""Convolution primitives shared by the convolutional mixers (Hyena, BaseConv, later H3).

Layout is channels-first, ``(B, C, L)``, the natural layout for ``torch.fft`` and
``nn.Conv1d``. Long convolutions run in fp32 whatever the input dtype: FFT round-off
in half precision is large enough to matter at long sequence lengths.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def fft_causal_conv(u: Tensor, k: Tensor, D: Tensor | None = None) -> Tensor:
    """Causal convolution of ``u`` (B, C, L) with per-channel filters ``k`` (C, >= L).

    ``y[b, c, t] = sum_{s <= t} k[c, t - s] * u[b, c, s] + D[c] * u[b, c, t]``.
    Both signals are zero-padded to 2L, so the circular FFT convolution equals the
    linear one on the first L outputs (nothing wraps around from the future).
    """
    length = u.shape[-1]
    n = 2 * length
    u32 = u.float()
    u_f = torch.fft.rfft(u32, n=n)
    k_f = torch.fft.rfft(k[..., :length].float(), n=n)
    y = torch.fft.irfft(u_f * k_f, n=n)[..., :length]
    if D is not None:
        y = y + u32 * D.float().unsqueeze(-1)
    return y.to(u.dtype)


def causal_conv_last(history: Tensor, k_reversed: Tensor) -> Tensor:
    """The newest output of a causal convolution: (B, C, T) history -> (B, C).

    Incremental decoding uses this instead of a whole FFT convolution: one dot
    product of the history with the first T filter taps, newest input first. The taps
    come reversed once per prompt (``k.flip(-1)``, see :func:`reversed_taps`), so each
    step reads the last T of them as a view instead of flipping a copy per token.
    """
    steps = history.shape[-1]
    return (history * k_reversed[..., k_reversed.shape[-1] - steps :]).sum(-1)


def reversed_taps(k: Tensor) -> Tensor:
    """Filter taps (C, L) newest-last, the layout :func:`causal_conv_last` reads."""
    return k.flip(-1).contiguous()


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


class ShortCausalConv(nn.Module):
    """Depthwise causal convolution with a few taps (kernel 3 in Hyena and BaseConv).

    Written as k shifted multiply-adds rather than ``nn.Conv1d(groups=C)``: the same
    function and parameters (``weight`` (C, k), ``bias`` (C), with Conv1d's default
    uniform init), but 2-3x faster forward + backward on CPU for short kernels.
    Output t sees inputs t-k+1 .. t; ``weight[:, -1]`` multiplies the newest.
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
        """(B, C, L) -> (B, C, L)."""
        length, k = x.shape[-1], self.kernel_size
        padded = F.pad(x, (k - 1, 0))
        y = self.bias.unsqueeze(-1) + self.weight[:, k - 1 :] * x
        for j in range(k - 1):
            y = y + self.weight[:, j : j + 1] * padded[..., j : j + length]
        return y

    def window(self, x: Tensor) -> Tensor:
        """The last k-1 inputs of ``x`` (B, C, L), zero-padded on the left: the decode state."""
        return F.pad(x, (self.kernel_size - 1, 0))[..., x.shape[-1] :]

    def step(self, x_t: Tensor, window: Tensor) -> tuple[Tensor, Tensor]:
        """One new input (B, C) and the window -> the newest output (B, C), the next window."""
        full = torch.cat([window, x_t.unsqueeze(-1)], dim=-1)  # oldest .. newest
        return (full * self.weight).sum(-1) + self.bias, full[..., 1:]
