"""Both scans of diagonal linear recurrences (the CPU loop and the parallel scan)
against the plain loop that defines them."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lolameme.models.scan import linear_scan


def loop(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    h = torch.zeros_like(b[:, 0]) if h0 is None else h0
    out = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, 1)


@settings(max_examples=30, deadline=None)
@given(
    length=st.integers(1, 70),
    chunk=st.sampled_from([1, 3, 8, 64]),
    seed=st.integers(0, 10_000),
    with_h0=st.booleans(),
    sequential=st.booleans(),
)
def test_scan_equals_the_loop(
    length: int, chunk: int, seed: int, with_h0: bool, sequential: bool
) -> None:
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(2, length, 3, 2, generator=gen, dtype=torch.float64)
    b = torch.randn(2, length, 3, 2, generator=gen, dtype=torch.float64)
    h0 = torch.randn(2, 3, 2, generator=gen, dtype=torch.float64) if with_h0 else None
    got = linear_scan(a, b, h0, chunk=chunk, sequential=sequential)
    assert torch.allclose(got, loop(a, b, h0), atol=1e-10)


@pytest.mark.parametrize(("chunk", "sequential"), [(16, False), (256, False), (64, True)])
def test_scan_is_stable_where_the_cumsum_trick_overflows(chunk: int, sequential: bool) -> None:
    """Decays of e^-5 per step over 1,000 steps: A_t = e^-5000 underflows, so the
    ``A_t * cumsum(b / A)`` form would give nan; the scan stays exact."""
    gen = torch.Generator().manual_seed(0)
    a = torch.full((1, 1000, 4), torch.exp(torch.tensor(-5.0)).item())
    a[:, ::7] = 1.0  # some steps keep everything
    b = torch.randn(1, 1000, 4, generator=gen)
    got = linear_scan(a, b, chunk=chunk, sequential=sequential)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, loop(a, b), atol=1e-5)
    a.requires_grad_(True)
    linear_scan(a, b, chunk=chunk, sequential=sequential).sum().backward()
    assert torch.isfinite(a.grad).all()


@pytest.mark.parametrize("sequential", [False, True])
def test_scan_gradients_equal_the_loops(sequential: bool) -> None:
    """The hand-written backward (the reverse recurrence) against autograd through the loop."""
    g = torch.Generator().manual_seed(3)
    a = torch.rand(2, 29, 3, generator=g, dtype=torch.float64).requires_grad_()
    b = torch.randn(2, 29, 3, generator=g, dtype=torch.float64).requires_grad_()
    h0 = torch.randn(2, 3, generator=g, dtype=torch.float64).requires_grad_()
    probe = torch.randn(2, 29, 3, generator=g, dtype=torch.float64)
    scan = linear_scan(a, b, h0, chunk=4, sequential=sequential)
    got = torch.autograd.grad((scan * probe).sum(), (a, b, h0))
    want = torch.autograd.grad((loop(a, b, h0) * probe).sum(), (a, b, h0))
    for x, y in zip(got, want, strict=True):
        assert torch.allclose(x, y, atol=1e-10)


def test_the_cpu_default_is_the_loop_and_accepts_strided_inputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On CPU ``sequential=None`` takes the loop (the parallel scan is made to fail); a
    transposed (non-contiguous) input gives the loop's states."""
    import lolameme.models.scan as scan

    g = torch.Generator().manual_seed(5)
    a = torch.rand(2, 3, 17, generator=g, dtype=torch.float64).transpose(1, 2)  # (2, 17, 3)
    b = torch.randn(2, 17, 3, generator=g, dtype=torch.float64)
    assert not a.is_contiguous()
    want = loop(a, b)
    assert torch.allclose(linear_scan(a, b, sequential=False), want, atol=1e-10)

    def no_parallel_scan(*args: object) -> None:
        raise AssertionError("the parallel scan ran on CPU")

    monkeypatch.setattr(scan, "_chunked_scan", no_parallel_scan)
    assert torch.allclose(linear_scan(a, b), want, atol=1e-12)
