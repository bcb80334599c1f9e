"""Verdicts are computed from the numbers: feed them both ways and the answer flips."""

from __future__ import annotations

from pathlib import Path

import pytest

from lolameme.reporting.aggregate import experiment_rows
from lolameme.reporting.results import read_results, read_specs
from lolameme.reporting.verdicts import compute_verdicts


def _verdicts(out: Path, name: str) -> dict[str, dict]:
    spec = read_specs(out)[(name, "tiny")]
    rows = experiment_rows(read_results(out), spec)
    return {v["id"]: v for v in compute_verdicts(spec, rows)}


def _thex(hyena: float, gpt2: float, thex: float, without: float, jitter: float = 0.001):
    def em(model: str, seed: int, settings: dict, split: str) -> float:
        base = {"hyena": hyena, "gpt2": gpt2}.get(model, thex)
        if split == "test_without_global":
            base = without
        return base + jitter * (seed - 1)

    return em


def test_hyena_beats_gpt2_yes_then_no(synthetic, tmp_path: Path) -> None:
    synthetic(tmp_path / "a", "thex_variations", _thex(hyena=0.3, gpt2=0.05, thex=0.2, without=0.0))
    v = _verdicts(tmp_path / "a", "thex_variations")["hyena_beats_gpt2"]
    assert v["answer"] == "yes"
    assert "Hyena 0.3000" in v["evidence"][0] and "GPT-2 0.0500" in v["evidence"][0]
    synthetic(tmp_path / "b", "thex_variations", _thex(hyena=0.05, gpt2=0.3, thex=0.2, without=0.0))
    assert _verdicts(tmp_path / "b", "thex_variations")["hyena_beats_gpt2"]["answer"] == "no"


def test_overlapping_std_bands_are_inconclusive(synthetic, tmp_path: Path) -> None:
    em = _thex(hyena=0.30, gpt2=0.25, thex=0.2, without=0.0, jitter=0.1)  # std 0.1 each
    synthetic(tmp_path, "thex_variations", em)
    v = _verdicts(tmp_path, "thex_variations")["hyena_beats_gpt2"]
    assert v["answer"] == "inconclusive"
    assert "(0.1000)" in v["evidence"][0]


def test_thex_beats_both_uses_the_best_variant(synthetic, tmp_path: Path) -> None:
    def em(model: str, seed: int, settings: dict, split: str) -> float:
        base = {"hyena": 0.3, "gpt2": 0.05, "thex-12": 0.5}.get(model, 0.1)
        return base + 0.001 * seed

    synthetic(tmp_path / "a", "thex_variations", em)
    v = _verdicts(tmp_path / "a", "thex_variations")["thex_beats_both"]
    assert v["answer"] == "yes" and "best THEX-12" in v["evidence"][0]
    assert "1 of 9 clearly beat all" in v["evidence"][0]
    synthetic(tmp_path / "b", "thex_variations", _thex(hyena=0.3, gpt2=0.05, thex=0.2, without=0))
    assert _verdicts(tmp_path / "b", "thex_variations")["thex_beats_both"]["answer"] == "no"


def test_all_fall_without_globals_flips_when_one_model_rises(synthetic, tmp_path: Path) -> None:
    synthetic(tmp_path / "a", "thex_variations", _thex(0.3, 0.05, 0.2, without=0.001))
    assert (
        _verdicts(tmp_path / "a", "thex_variations")["all_fall_without_global"]["answer"] == "yes"
    )

    def em(model: str, seed: int, settings: dict, split: str) -> float:
        if model == "gpt2":
            return 0.01 if split == "test_with_global" else 0.2
        return 0.3 if split == "test_with_global" else 0.0

    synthetic(tmp_path / "b", "thex_variations", em)
    v = _verdicts(tmp_path / "b", "thex_variations")["all_fall_without_global"]
    assert v["answer"] == "no"
    assert any(
        "GPT-2 0.0100 (0.0000) -> 0.2000 (0.0000)" in e and e.endswith("no") for e in v["evidence"]
    )


def test_operator_pretraining_lift(synthetic, tmp_path: Path) -> None:
    def lifted(model: str, seed: int, settings: dict, split: str) -> float:
        return (0.6 if settings["regime"] == "pretrain" else 0.01) + 0.001 * seed

    synthetic(tmp_path / "a", "operator_pretraining", lifted)
    v = _verdicts(tmp_path / "a", "operator_pretraining")["pretraining_lifts_all"]
    assert v["answer"] == "yes"

    def flat(model: str, seed: int, settings: dict, split: str) -> float:
        lift = 0.6 if settings["regime"] == "pretrain" and model != "gpt2" else 0.0
        return 0.01 + lift + 0.001 * seed

    synthetic(tmp_path / "b", "operator_pretraining", flat)
    v = _verdicts(tmp_path / "b", "operator_pretraining")["pretraining_lifts_all"]
    assert v["answer"] == "inconclusive"  # GPT-2 neither rises nor falls beyond its spread


def test_claims_over_settings_combine_per_setting(synthetic, tmp_path: Path) -> None:
    def em(model: str, seed: int, settings: dict, split: str) -> float:
        length = settings["mean_var_length"]
        if model == "hyena":
            return (0.4 if length < 9 else 0.01) + 0.001 * seed  # loses at the longest names
        return 0.1 + 0.001 * seed

    synthetic(tmp_path, "variable_length", em)
    v = _verdicts(tmp_path, "variable_length")["hyena_beats_gpt2"]
    assert v["answer"] == "no"
    assert sum(e.endswith(": yes") for e in v["evidence"]) == 3
    assert any(e.startswith("[mean_var_length=9]") and e.endswith(": no") for e in v["evidence"])


def test_missing_models_give_no_data(synthetic, tmp_path: Path) -> None:
    synthetic(tmp_path, "thex_variations", _thex(0.3, 0.05, 0.2, 0.0), models=["hyena"])
    v = _verdicts(tmp_path, "thex_variations")["hyena_beats_gpt2"]
    assert v["answer"] == "no data"
    assert "**no data**: no finished cells to compare (needs Hyena, GPT-2)." in v["line"]


@pytest.mark.parametrize("scale_seeds", [1])
def test_single_seed_is_flagged(synthetic, tmp_path: Path, scale_seeds: int) -> None:
    synthetic(tmp_path, "thex_variations", _thex(0.3, 0.05, 0.2, 0.0), scale="smoke")
    spec = read_specs(tmp_path)[("thex_variations", "smoke")]
    rows = experiment_rows(read_results(tmp_path), spec)
    v = {x["id"]: x for x in compute_verdicts(spec, rows)}["hyena_beats_gpt2"]
    assert v["answer"] == "yes" and "Single seed" in v["line"]
