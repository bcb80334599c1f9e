"""Spec strings: presets, patterns, normal forms and one clear error per mistake."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lolameme.models import MODEL_SCALES, SpecError, build_model, list_presets, parse_spec


def layers(spec: str, scale: str = "smoke") -> list[tuple[str, int, int]]:
    config = parse_spec(spec, scale=scale, vocab_size=50, max_seq_len=32)
    return [(layer.mixer, layer.width, layer.mlp_width) for layer in config.layers]


def test_presets_expand_to_the_paper_shapes() -> None:
    assert layers("gpt2", "paper") == [("attention", 768, 3072)] * 12
    assert layers("hyena", "paper") == [("hyena", 864, 1728)] * 18
    thex = layers("thex-13", "paper")
    assert thex[13] == ("attention", 768, 3072)
    assert thex[:13] + thex[14:] == [("hyena", 864, 1728)] * 17
    assert len(thex) == 18


@pytest.mark.parametrize("scale", list(MODEL_SCALES))
def test_every_scale_keeps_the_depths_and_width_ratio(scale: str) -> None:
    assert len(layers("gpt2", scale)) == 12
    assert len(layers("hyena", scale)) == len(layers("base_conv", scale)) == 18
    attention_width = layers("gpt2", scale)[0][1]
    hyena_width = layers("hyena", scale)[0][1]
    assert attention_width / hyena_width == pytest.approx(768 / 864, rel=0.02)
    assert list_presets(scale) == ["gpt2", "hyena", "base_conv"] + [f"thex-{n}" for n in range(18)]


def test_thex_equals_its_pattern() -> None:
    for n, pattern in [
        (0, "attention,hyena*17"),
        (6, "hyena*6,attention,hyena*11"),
        (17, "hyena*17,attention"),
    ]:
        assert layers(f"thex-{n}") == layers(pattern)


@pytest.mark.parametrize(
    ("spec", "normal"),
    [
        ("GPT2", "gpt2"),
        ("  thex-07 ", "thex-7"),
        ("Hyena * 6 , attention, hyena*11", "hyena*6,attention,hyena*11"),
        ("hyena,hyena*2,attention*1", "hyena*3,attention"),
        ("attention@32,attention@32,hyena", "attention@32*2,hyena"),
        ("hyena*18", "hyena*18"),
        ("hyena*1", "hyena*1"),  # one layer, not the 18-layer preset
    ],
)
def test_specs_are_normalised(spec: str, normal: str) -> None:
    assert parse_spec(spec, scale="smoke", vocab_size=50, max_seq_len=32).spec == normal


def test_width_suffix_resizes_one_item_and_keeps_the_mlp_ratio() -> None:
    got = layers("hyena*2,attention@32,hyena")
    assert got == [("hyena", 18, 36), ("hyena", 18, 36), ("attention", 32, 128), ("hyena", 18, 36)]
    assert layers("hyena@30") == [("hyena", 30, 60)]


def test_embedding_width_is_the_dominant_width() -> None:
    config = parse_spec("thex-4", scale="paper", vocab_size=50, max_seq_len=32)
    assert config.embed_width == 864
    config = parse_spec("attention@20*3,hyena*2", scale="smoke", vocab_size=50, max_seq_len=32)
    assert config.embed_width == 20


@pytest.mark.parametrize(
    ("spec", "scale", "message"),
    [
        ("", "tiny", "empty model spec"),
        ("   ", "tiny", "empty model spec"),
        ("mamba2*3", "tiny", r"unknown mixer 'mamba2'.*valid mixers: attention, base_conv, based,"),
        ("hyena*6,lstm", "tiny", "unknown mixer 'lstm'"),
        ("thex-18", "tiny", r"layer 18 is out of range; thex-N needs 0 <= N <= 17"),
        ("thex--1", "paper", "out of range"),
        ("attention@0", "tiny", "width must be a positive integer, got 0"),
        ("attention@-3", "tiny", "width must be a positive integer, got -3"),
        ("hyena*0", "tiny", "count must be a positive integer, got 0"),
        ("hyena**2", "tiny", r"cannot parse 'hyena\*\*2'"),
        ("hyena*2@16", "tiny", "MIXER\\[@WIDTH\\]\\[\\*COUNT\\]"),
        ("hyena,,attention", "tiny", "cannot parse ''"),
        ("gpt2", "huge", r"unknown scale 'huge' \(valid: paper, small, tiny, smoke\)"),
        ("attention@30", "tiny", "width 30 is not divisible into num_heads=4 heads"),
    ],
)
def test_bad_specs_raise_one_clear_error(spec: str, scale: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        build_model(spec, scale=scale, vocab_size=50, max_seq_len=32)


def test_spec_error_is_a_user_error() -> None:
    from lolameme.errors import LolamemeError

    assert issubclass(SpecError, LolamemeError)


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(
        st.tuples(
            st.sampled_from(["attention", "hyena", "base_conv"]),
            st.sampled_from([None, 8, 16, 24]),
            st.integers(1, 3),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_normal_form_rebuilds_the_same_layers(items: list[tuple[str, int | None, int]]) -> None:
    spec = ",".join(
        f"{mixer}{'' if width is None else f'@{width}'}*{n}" for mixer, width, n in items
    )
    config = parse_spec(spec, scale="smoke", vocab_size=50, max_seq_len=32)
    again = parse_spec(config.spec, scale="smoke", vocab_size=50, max_seq_len=32)
    assert again.spec == config.spec and again.layers == config.layers
    assert len(config.layers) == sum(n for _, _, n in items)


@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        ("hyena", {"short_kernel": 0}, "short_kernel must be a positive integer, got 0"),
        ("hyena", {"filter_order": -1}, "filter_order must be a positive integer, got -1"),
        ("hyena", {"filter_emb_dim": 4}, "filter_emb_dim must be an odd integer >= 3"),
        ("hyena", {"filter_emb_dim": True}, "filter_emb_dim must be an odd integer >= 3"),
        ("hyena", {"filter_frequency": "x"}, "filter_frequency must be a finite number"),
        ("hyena", {"filter_frequency": float("inf")}, "filter_frequency must be a finite"),
        ("mamba@16", {"dt_min": "x"}, r"need numbers 0 < dt_min <= dt_max, got dt_min='x'"),
        ("h3@16", {"dt_min": 0.5, "dt_max": 0.1}, "need numbers 0 < dt_min <= dt_max"),
    ],
)
def test_mixer_kwargs_of_the_wrong_kind_are_spec_errors(spec, kwargs, message) -> None:
    """Knobs come from JSON and YAML: a bad one names itself, it is not a TypeError or
    a ValueError from deep inside a constructor."""
    name = spec.split("@")[0]
    with pytest.raises(SpecError, match=message):
        build_model(spec, scale="smoke", vocab_size=16, mixer_kwargs={name: kwargs})
