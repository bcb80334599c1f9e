"""The convolution primitives of ``lolameme.models.ops`` against the formulations they
replaced, forward + backward on CPU, all taking turns in one run.

1. The short causal convolution (kernel 3, 3 x 72 channels, batch 32 x 64, the tiny
   Hyena's): ``ShortCausalConv`` (channels-last, written-out backward) against the
   same multiply-adds through autograd on a transposed (B, C, L) view (the previous
   code) and a depthwise ``nn.functional.conv1d``.
2. The causal FFT convolution (72 channels, batch 2048 / L x L): ``fft_causal_conv``
   (written-out backward) against autograd through ``rfft``/``irfft``.

Every variant is checked equal to the first (values and gradients) before timing.
CPU seconds of this thread (``time.thread_time``) are reported, median and best of
``--rounds``: on a shared machine they move less than wall time.

    python3 benchmarks/bench_conv_ops.py [--rounds 60] [--lengths 64 256 1024]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lolameme.models.ops import ShortCausalConv, fft_causal_conv  # noqa: E402

Step = Callable[[], list[torch.Tensor]]


def short_conv_transposed(conv: ShortCausalConv, z: torch.Tensor) -> torch.Tensor:
    """The previous formulation: shifted multiply-adds through autograd on (B, C, L)."""
    x = z.transpose(1, 2)
    length, k = x.shape[-1], conv.kernel_size
    padded = F.pad(x, (k - 1, 0))
    y = conv.bias.unsqueeze(-1) + conv.weight[:, k - 1 :] * x
    for j in range(k - 1):
        y = y + conv.weight[:, j : j + 1] * padded[..., j : j + length]
    return y.transpose(1, 2)


def short_conv_conv1d(conv: ShortCausalConv, z: torch.Tensor) -> torch.Tensor:
    channels, k = conv.weight.shape
    x = F.pad(z.transpose(1, 2), (k - 1, 0))
    return F.conv1d(x, conv.weight.unsqueeze(1), conv.bias, groups=channels).transpose(1, 2)


def fft_conv_autograd(u: torch.Tensor, k: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
    """The previous formulation: autograd through the transforms, (B, C, L) layout."""
    length = u.shape[1]
    x = u.transpose(1, 2)
    spectrum = torch.fft.rfft(x, n=2 * length) * torch.fft.rfft(k, n=2 * length)
    y = torch.fft.irfft(spectrum, n=2 * length)[..., :length]
    return (y + x * D.unsqueeze(-1)).transpose(1, 2)


def fwd_bwd(run: Callable[[], torch.Tensor], leaves: list[torch.Tensor], g: torch.Tensor) -> Step:
    def step() -> list[torch.Tensor]:
        for leaf in leaves:
            leaf.grad = None
        y = run()
        (y * g).sum().backward()
        return [y.detach(), *(leaf.grad for leaf in leaves)]

    return step


def race(steps: dict[str, Step], rounds: int) -> dict[str, list[float]]:
    """Check every step against the first, then time them taking turns."""
    first, *others = steps
    want = steps[first]()
    for name in others:
        got = steps[name]()
        for a, b in zip(got, want, strict=True):
            tol = 1e-4 * (1 + b.abs().max().item())
            assert torch.allclose(a, b, atol=tol), f"{name} differs from {first}"
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.thread_time()
            step()
            times[name].append(time.thread_time() - start)
    return times


def report(title: str, times: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    base = statistics.median(next(iter(times.values())))
    for name, t in times.items():
        med = statistics.median(t)
        print(
            f"  {name:<34} median {med * 1e3:7.3f} ms  best {min(t) * 1e3:7.3f} ms"
            f"  median / first {med / base:5.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 256, 1024])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, load average {os.getloadavg()[0]:.1f}")
    gen = torch.Generator().manual_seed(0)

    torch.manual_seed(0)
    conv = ShortCausalConv(3 * 72, 3)
    z = torch.randn(32, 64, 3 * 72, generator=gen, requires_grad=True)
    g = torch.randn(32, 64, 3 * 72, generator=gen)
    leaves = [z, conv.weight, conv.bias]
    steps = {
        "ShortCausalConv (channels-last)": fwd_bwd(lambda: conv(z), leaves, g),
        "autograd on a transposed view": fwd_bwd(lambda: short_conv_transposed(conv, z), leaves, g),
        "depthwise conv1d": fwd_bwd(lambda: short_conv_conv1d(conv, z), leaves, g),
    }
    report("1. short conv, (32, 64, 216), fwd + bwd", race(steps, args.rounds))

    for length in args.lengths:
        batch = max(1, 2048 // length)
        u = torch.randn(batch, length, 72, generator=gen, requires_grad=True)
        k = torch.randn(72, length, generator=gen, requires_grad=True)
        D = torch.randn(72, generator=gen, requires_grad=True)
        g = torch.randn(batch, length, 72, generator=gen)
        steps = {
            "fft_causal_conv (written backward)": fwd_bwd(
                lambda u=u, k=k, D=D: fft_causal_conv(u, k, D), [u, k, D], g
            ),
            "autograd through rfft/irfft": fwd_bwd(
                lambda u=u, k=k, D=D: fft_conv_autograd(u, k, D), [u, k, D], g
            ),
        }
        report(f"2. FFT conv, ({batch}, {length}, 72), fwd + bwd", race(steps, args.rounds))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
