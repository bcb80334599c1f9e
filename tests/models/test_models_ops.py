"""The convolution primitives equal their direct definitions."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lolameme.models.ops import (
    History,
    ShortCausalConv,
    causal_conv_last,
    fft_causal_conv,
    reversed_taps,
)


def direct_causal_conv(u: torch.Tensor, k: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
    """y[b, t, c] = sum_{s <= t} k[c, t - s] u[b, s, c] + D[c] u[b, t, c], by loops."""
    b, length, c = u.shape
    y = torch.zeros(b, length, c, dtype=torch.float64)
    for t in range(length):
        for s in range(t + 1):
            y[:, t] += k[:, t - s] * u[:, s]
    return y + D * u


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 3),
    channels=st.integers(1, 5),
    length=st.integers(1, 40),
    extra_taps=st.integers(0, 7),
    seed=st.integers(0, 2**31 - 1),
)
def test_fft_causal_conv_equals_direct_convolution(
    batch: int, channels: int, length: int, extra_taps: int, seed: int
) -> None:
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(batch, length, channels, generator=gen, dtype=torch.float64)
    k = torch.randn(channels, length + extra_taps, generator=gen, dtype=torch.float64)
    D = torch.randn(channels, generator=gen, dtype=torch.float64)
    got = fft_causal_conv(u.float(), k.float(), D.float())
    assert got.is_contiguous()  # channels-last out, ready for the next linear layer
    want = direct_causal_conv(u, k, D)
    assert torch.allclose(got.double(), want, atol=1e-4 * (1 + want.abs().max().item()))
    # without D there is no skip term
    no_skip = fft_causal_conv(u.float(), k.float())
    assert no_skip.is_contiguous()
    assert torch.allclose(no_skip.double(), want - D * u, atol=1e-4 * (1 + want.abs().max()))


def test_fft_causal_conv_gradients_equal_the_direct_convolution() -> None:
    gen = torch.Generator().manual_seed(3)
    u = torch.randn(2, 13, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    k = torch.randn(4, 16, generator=gen, dtype=torch.float64, requires_grad=True)
    D = torch.randn(4, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 13, 4, generator=gen, dtype=torch.float64)
    grads = []
    for conv in (fft_causal_conv, direct_causal_conv):
        (conv(u, k, D) * g).sum().backward()
        grads.append([t.grad.clone() for t in (u, k, D)])
        for t in (u, k, D):
            t.grad = None
    for got, want in zip(*grads, strict=True):  # the FFT runs in fp32
        assert torch.allclose(got, want, atol=1e-5 * want.abs().max().item())


def test_fft_causal_conv_keeps_dtype_and_computes_in_fp32() -> None:
    """bf16 in, bf16 out, and bit for bit the fp32 result rounded once at the end: any
    bf16 arithmetic on the way (a tolerance would let it through) shows."""
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(2, 64, 3, generator=gen)
    k = torch.randn(3, 64, generator=gen)
    D = torch.randn(3, generator=gen)
    for skip in (None, D):
        half = None if skip is None else skip.bfloat16()
        y16 = fft_causal_conv(u.bfloat16(), k.bfloat16(), half)
        assert y16.dtype == torch.bfloat16
        full = None if skip is None else half.float()
        ref = fft_causal_conv(u.bfloat16().float(), k.bfloat16().float(), full)
        assert ref.dtype == torch.float32
        assert torch.equal(y16, ref.bfloat16())


def test_causal_conv_last_is_the_newest_output() -> None:
    gen = torch.Generator().manual_seed(1)
    u = torch.randn(2, 9, 4, generator=gen)
    k = torch.randn(4, 12, generator=gen)
    full = fft_causal_conv(u, k)
    for t in range(1, 10):
        got = causal_conv_last(u[:, :t], reversed_taps(k))
        assert torch.allclose(got, full[:, t - 1], atol=1e-5)


def test_history_appends_in_place_and_branches_keep_their_own_past() -> None:
    start = History(torch.arange(6.0).view(2, 3), dim=1)
    a1 = start.append(torch.tensor([10.0, 20.0]))
    a2 = a1.append(torch.tensor([11.0, 21.0]))
    assert a2._buffer is a1._buffer  # the chain shares one buffer: no copy per step
    b1 = start.append(torch.tensor([-1.0, -2.0]))  # a branch from an older state
    b2 = a1.append(torch.tensor([-3.0, -4.0]))  # and one from a1, already extended
    assert b1._buffer is not a1._buffer and b2._buffer is not a1._buffer
    assert start.values.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert a2.values.tolist() == [[0, 1, 2, 10, 11], [3, 4, 5, 20, 21]]
    assert b1.values.tolist() == [[0, 1, 2, -1], [3, 4, 5, -2]]
    assert b2.values.tolist() == [[0, 1, 2, 10, -3], [3, 4, 5, 20, -4]]
    grown = start
    for i in range(100):  # past any initial capacity
        grown = grown.append(torch.tensor([float(i), float(-i)]))
    assert grown.length == 103 and grown.values[0, 3:].tolist() == list(range(100))


def conv1d_reference(conv: ShortCausalConv, x: torch.Tensor) -> torch.Tensor:
    """The short convolution as the depthwise ``nn.Conv1d`` it stands for, (B, L, C)."""
    channels, k = conv.weight.shape
    y = F.conv1d(
        x.transpose(1, 2), conv.weight[:, None, :], conv.bias, padding=k - 1, groups=channels
    )
    return y[..., : x.shape[1]].transpose(1, 2)


@settings(max_examples=20, deadline=None)
@given(kernel=st.integers(1, 5), length=st.integers(1, 9), seed=st.integers(0, 2**31 - 1))
def test_short_conv_forward_and_gradients_equal_conv1d(kernel: int, length: int, seed: int) -> None:
    """The hand-written backward against autograd through Conv1d, lengths below the kernel too."""
    torch.manual_seed(seed)
    conv = ShortCausalConv(5, kernel).double()
    x = torch.randn(3, length, 5, dtype=torch.float64, requires_grad=True)
    g = torch.randn(3, length, 5, dtype=torch.float64)
    grads = []
    for run in (conv, lambda x: conv1d_reference(conv, x)):
        y = run(x)
        (y * g).sum().backward()
        grads.append([y.detach(), x.grad.clone(), conv.weight.grad.clone(), conv.bias.grad.clone()])
        x.grad = conv.weight.grad = conv.bias.grad = None
    for got, want in zip(*grads, strict=True):
        assert torch.allclose(got, want, atol=1e-12)


def test_short_conv_matches_conv1d_and_steps() -> None:
    torch.manual_seed(0)
    conv = ShortCausalConv(6, 3)
    x = torch.randn(2, 11, 6)
    y = conv(x)
    assert torch.allclose(y, conv1d_reference(conv, x), atol=1e-6)
    window = conv.window(x[:, :4])
    assert window.shape == (2, 2, 6)
    for t in range(4, 11):
        y_t, window = conv.step(x[:, t], window)
        assert torch.allclose(y_t, y[:, t], atol=1e-6)
    # a short prompt is zero-padded on the left, as the convolution itself
    assert torch.equal(conv.window(x[:, :1])[:, 0], torch.zeros(2, 6))
