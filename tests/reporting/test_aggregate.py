"""Statistics, band comparisons, filters and best-lr selection."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lolameme.reporting.aggregate import (
    Stat,
    compare,
    display_name,
    name_footnote,
    select_best,
    summarize,
    where,
)


def test_summarize_uses_sample_std_and_skips_missing() -> None:
    s = summarize([0.1, 0.2, 0.3, None, float("nan")])
    assert s.n == 3 and s.mean == pytest.approx(0.2) and s.std == pytest.approx(0.1)
    one = summarize([0.5])
    assert one.n == 1 and math.isnan(one.std) and one.fmt() == "0.5000"
    assert summarize([]).fmt() == "—"


def test_compare_needs_separate_bands() -> None:
    assert compare(Stat(0.5, 0.1, 3), Stat(0.2, 0.1, 3)) == "above"
    assert compare(Stat(0.2, 0.1, 3), Stat(0.5, 0.1, 3)) == "below"
    assert compare(Stat(0.35, 0.1, 3), Stat(0.2, 0.1, 3)) == "overlap"
    assert compare(Stat(0.3, math.nan, 1), Stat(0.2, math.nan, 1)) == "above"  # means only


@given(st.floats(0, 1), st.floats(0, 0.5), st.floats(0, 1), st.floats(0, 0.5))
def test_compare_is_antisymmetric(m1: float, s1: float, m2: float, s2: float) -> None:
    a, b = Stat(m1, s1, 3), Stat(m2, s2, 3)
    flipped = {"above": "below", "below": "above", "overlap": "overlap"}
    assert compare(b, a) == flipped[compare(a, b)]


def test_where_resolves_min_and_max_from_the_spec_points() -> None:
    spec = {"axes": [{"name": "n", "points": [{"value": 10}, {"value": 20}, {"value": 30}]}]}
    rows = pd.DataFrame({"n": [10, 20, 30, 20], "model": ["a"] * 4})
    assert list(where(rows, spec, {"n": "min"})["n"]) == [10]
    assert list(where(rows, spec, {"n": "max"})["n"]) == [30]
    assert len(where(rows, spec, {"n": 20})) == 2


def test_select_best_keeps_the_best_lr_per_model_and_setting() -> None:
    spec = {"axes": [{"name": "lr", "points": []}, {"name": "d", "points": []}]}
    rows = pd.DataFrame(
        {
            "model": ["a"] * 4 + ["b"] * 4,
            "d": [64, 64, 64, 64] * 2,
            "lr": [1e-3, 1e-3, 1e-2, 1e-2] * 2,
            "seed": [0, 1, 0, 1] * 2,
            "acc_test": [0.9, 0.8, 0.5, 0.6, 0.1, 0.2, 0.7, 0.7],
        }
    )
    kept = select_best(rows, {"axis": "lr", "metric": "acc", "split": "test"}, spec)
    assert set(kept[kept["model"] == "a"]["lr"]) == {1e-3}
    assert set(kept[kept["model"] == "b"]["lr"]) == {1e-2}
    assert len(kept) == 4


def test_display_names_follow_the_paper() -> None:
    names = ("gpt2", "hyena", "thex-13", "hyena*2,attention", "attention@{width}*2")
    assert [display_name(m) for m in names] == [
        "GPT-2",
        "Hyena",
        "THEX-13",
        "Hyena ×2 + Attention",
        "Attention ×2",
    ]
    spec = "base_conv@64*2,sparse_attention@64,base_conv@64"
    assert display_name(spec) == "BaseConv ×2 + Sparse attention + BaseConv"
    assert display_name("mystery@64") == "mystery@64"  # unknown mixer: the spec as written
    assert name_footnote(["gpt2", spec]) == f"BaseConv ×2 + Sparse attention + BaseConv = `{spec}`"
