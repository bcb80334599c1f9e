"""The first mixers (attention, Hyena, BaseConv): state sizes, operation order, knobs.

Shapes, causality and decoding of every registered mixer: ``test_conformance.py``.
"""

from __future__ import annotations

import pytest
import torch

from lolameme.models import MIXERS, SpecError
from lolameme.models.mixers import BaseConv, Hyena, Mixer
from lolameme.models.ops import fft_causal_conv

WIDTH, L_MAX = 16, 40
# (registry name, layer_idx, kwargs): base_conv layer 0 is short, layer 1 long. Causality
# and decoding of every registered mixer: test_conformance.py, driven by the registry.
ATTENTION = ("attention", 0, {"num_heads": 4})
HYENA = ("hyena", 0, {"filter_emb_dim": 5, "filter_order": 8})
BASE_CONV_SHORT, BASE_CONV_LONG = ("base_conv", 0, {}), ("base_conv", 1, {})


def make(name: str, layer_idx: int, kwargs: dict, seed: int = 0) -> Mixer:
    """A mixer with large random weights (see conftest's ``scramble``)."""
    torch.manual_seed(seed)
    mixer = MIXERS[name](WIDTH, layer_idx, 4, l_max=L_MAX, **kwargs)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in mixer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return mixer.eval()


def test_registry_names_match_classes() -> None:
    assert set(MIXERS) >= {"attention", "hyena", "base_conv"}
    for name, cls in MIXERS.items():
        assert issubclass(cls, Mixer) and cls.name == name


def test_state_sizes_count_what_decoding_keeps() -> None:
    assert make(*ATTENTION).state_size(100) == 2 * 100 * WIDTH  # KV cache
    hyena = make(*HYENA)
    # history + the short window's kernel - 1 = 2 past inputs of the 3 projections
    assert hyena.state_size(100) == 100 * WIDTH + 3 * WIDTH * 2
    assert make(*BASE_CONV_SHORT).state_size(100) == 2 * WIDTH  # (kernel - 1) x D
    assert make(*BASE_CONV_LONG).state_size(100) == 100 * WIDTH  # long conv: L x D
    assert hyena.state_size(200) > hyena.state_size(100)


def test_hyena_gates_before_and_after_the_long_convolution(gen: torch.Generator) -> None:
    """Pin the order: y = out_proj(x2 * long_conv(x1 * v)), with the skip D."""
    hyena = make(*HYENA)
    assert isinstance(hyena, Hyena)
    u = torch.randn(2, 12, WIDTH, generator=gen)
    with torch.no_grad():
        x1, x2, v = hyena.project(u)
        k = hyena.filter(12)
        want = hyena.out_proj(x2 * fft_causal_conv(x1 * v, k, hyena.D))
        swapped = hyena.out_proj(x1 * fft_causal_conv(x2 * v, k, hyena.D))
        got = hyena(u)
    assert torch.allclose(got, want, atol=1e-5)
    assert not torch.allclose(got, swapped, atol=1e-2)


def test_hyena_filter_taps_are_a_prefix_and_decay() -> None:
    hyena = Hyena(WIDTH, 0, 1, l_max=L_MAX, filter_emb_dim=5, filter_order=8)
    with torch.no_grad():
        long, short = hyena.filter(L_MAX), hyena.filter(10)
    assert long.shape == (WIDTH, L_MAX) and short.shape == (WIDTH, 10)
    assert torch.equal(long[:, :10], short)
    # the exponential window: the fastest-decaying channel is smallest at the end
    t = hyena.filter.pos.t[0, :, 0]
    deltas = hyena.filter.modulation.deltas[0, 0, :].abs()
    window = torch.exp(-t[None] * deltas[:, None])  # (channels, L)
    assert window[-1, -1] < 0.02 < window[0, -1]


def test_filter_taps_are_reused_without_autograd_until_a_parameter_changes() -> None:
    hyena = Hyena(WIDTH, 0, 1, l_max=L_MAX, filter_emb_dim=5, filter_order=8)
    with torch.no_grad():
        first = hyena.filter(L_MAX)
        assert hyena.filter(L_MAX) is first  # evaluation: computed once
        assert hyena.filter(10).shape == (WIDTH, 10)  # another length is computed
    with torch.inference_mode():
        again = hyena.filter(L_MAX)
    assert torch.equal(again, first)
    # an optimiser step changes the taps: never served stale
    loss = hyena.filter(L_MAX).square().sum()  # with autograd: always computed
    loss.backward()
    torch.optim.SGD(hyena.filter.parameters(), lr=0.1).step()
    with torch.no_grad():
        stepped = hyena.filter(L_MAX)
        assert not torch.allclose(stepped, first)
        hyena.filter.load_state_dict(
            {
                k: v.clone()
                for k, v in Hyena(WIDTH, 0, 1, l_max=L_MAX, filter_emb_dim=5, filter_order=8)
                .filter.state_dict()
                .items()
            }
        )
        loaded = hyena.filter(L_MAX)
        assert not torch.allclose(loaded, stepped)
        assert torch.equal(loaded, hyena.filter._taps(L_MAX))


@pytest.mark.parametrize(
    ("name", "kwargs", "changed"),
    [
        ("hyena", {"filter_emb_dim": 5, "filter_order": 8}, {"filter_frequency": 3.0}),
        ("hyena", {"filter_emb_dim": 5, "filter_order": 8}, {"short_kernel": 2}),
        ("hyena", {"filter_emb_dim": 5, "filter_order": 8}, {"filter_emb_dim": 7}),
        ("attention", {"num_heads": 4}, {"num_heads": 2}),
        ("base_conv", {"kernel_size": 3}, {"kernel_size": 5}),
        ("base_conv", {"kernel_size": -1}, {"filter_order": 8}),
        ("base_conv", {"kernel_size": -1}, {"long_filter": "hyena"}),
        ("base_conv", {"kernel_size": -1, "long_filter": "hyena"}, {"filter_frequency": 5.0}),
    ],
)
def test_every_knob_changes_the_output(
    name: str, kwargs: dict, changed: dict, gen: torch.Generator
) -> None:
    u = torch.randn(2, 16, WIDTH, generator=gen)
    torch.manual_seed(0)
    a = MIXERS[name](WIDTH, 0, 2, l_max=L_MAX, **kwargs)
    torch.manual_seed(0)
    b = MIXERS[name](WIDTH, 0, 2, l_max=L_MAX, **{**kwargs, **changed})
    with torch.no_grad():
        # the same weights wherever shapes agree, so only the knob differs (the sine
        # frequency knob is the initial value of the trainable ``freq``: not copied)
        b_state = b.state_dict()
        for key, value in a.state_dict().items():
            if key.endswith("freq"):
                continue
            if key in b_state and b_state[key].shape == value.shape:
                b_state[key] = value
        b.load_state_dict(b_state)
        assert not torch.allclose(a(u), b(u), atol=1e-6)


def test_base_conv_alternates_short_and_long_by_default() -> None:
    kinds = [BaseConv(WIDTH, i, 4, l_max=L_MAX).kernel_size for i in range(4)]
    assert kinds == [3, -1, 3, -1]


def test_check_config_names_the_problem() -> None:
    with pytest.raises(SpecError, match="does not accept bogus"):
        MIXERS["hyena"].check_config(16, {"bogus": 1}, where="layer 2")
    with pytest.raises(SpecError, match="not divisible"):
        MIXERS["attention"].check_config(30, {"num_heads": 4}, where="layer 0")
    with pytest.raises(SpecError, match="kernel_size"):
        MIXERS["base_conv"].check_config(16, {"kernel_size": 0}, where="layer 0")
    with pytest.raises(SpecError, match="long_filter must be one of mlp, hyena"):
        MIXERS["base_conv"].check_config(16, {"long_filter": "sine"}, where="layer 0")


def test_hyena_rejects_sequences_longer_than_its_filter() -> None:
    hyena = Hyena(WIDTH, 0, 1, l_max=8, filter_emb_dim=3, filter_order=4)
    with pytest.raises(ValueError, match="exceeds"):
        hyena(torch.zeros(1, 9, WIDTH))
