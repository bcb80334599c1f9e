"""The recall-gap table and the gap-closed verdict, computed from chosen numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from lolameme.reporting.recall import recall_json, recall_markdown, recall_table
from lolameme.reporting.verdicts import compute_verdicts

LOW, HIGH, HYBRID = "base_conv*2", "attention*2", "base_conv,sparse_attention"


def _spec(**verdict: object) -> dict:
    gap = {
        "kind": "gap_closed",
        "id": "gap",
        "question": "How much of the gap does the hybrid close?",
        "model": HYBRID,
        "low": LOW,
        "high": HIGH,
        "metric": "token_accuracy",
        "split": "test",
        **verdict,
    }
    return {"models": [HIGH, LOW, HYBRID], "axes": [], "splits": ["test"], "verdicts": [gap]}


def _rows(values: dict[str, list[float]], metric: str = "token_accuracy_test") -> pd.DataFrame:
    return pd.DataFrame(
        [{"model": m, "seed": i, metric: x} for m, xs in values.items() for i, x in enumerate(xs)]
    )


def _gap(values: dict[str, list[float]], **verdict: object) -> dict:
    return compute_verdicts(_spec(**verdict), _rows(values))[0]


def test_gap_share_is_computed_from_the_means() -> None:
    v = _gap({HIGH: [0.99, 0.97], LOW: [0.10, 0.12], HYBRID: [0.96, 0.94]})
    # (0.95 - 0.11) / (0.98 - 0.11) = 0.9655
    assert v["answer"] == "yes" and "closes 96.6% of the gap" in v["evidence"][0]
    assert "BaseConv ×2 0.1100 (0.0141), Attention ×2 0.9800 (0.0141)" in v["evidence"][0]
    v = _gap({HIGH: [0.99, 0.97], LOW: [0.10, 0.12], HYBRID: [0.50, 0.52]})
    assert v["answer"] == "no" and "closes 46.0% of the gap" in v["evidence"][0]
    v = _gap({HIGH: [0.99, 0.97], LOW: [0.10, 0.12], HYBRID: [0.50, 0.52]}, closes=0.4)
    assert v["answer"] == "yes"


def test_a_gap_too_small_to_divide_by_is_inconclusive() -> None:
    v = _gap({HIGH: [0.52, 0.50], LOW: [0.49, 0.51], HYBRID: [0.9, 0.9]})
    assert v["answer"] == "inconclusive" and "too small to be meaningful" in v["evidence"][0]
    # a large gap whose bands overlap is inconclusive as well
    v = _gap({HIGH: [0.9, 0.3], LOW: [0.1, 0.5], HYBRID: [0.9, 0.9]})
    assert v["answer"] == "inconclusive"
    # and a missing model gives no data
    assert _gap({HIGH: [0.9], LOW: [0.1]})["answer"] == "no data"


def test_recall_table_means_per_model_and_split() -> None:
    columns = ["model", "ar_hits_loss_test", "other_loss_test", "other_acc_test"]
    rows = pd.DataFrame(
        [["gpt2", 0.5, 1.5, 0.4], ["gpt2", 0.7, 1.7, 0.6], ["hyena", 0.9, 1.6, 0.5]],
        columns=columns,
    )
    spec = {"models": ["hyena", "gpt2", "thex-3"], "splits": ["test"]}
    table = recall_table(rows, spec)
    assert table is not None and table["models"] == ["hyena", "gpt2"]  # spec order, ran only
    gpt2 = table["cells"]["gpt2"]["test"]
    assert gpt2["ar_hits_loss"].mean == pytest.approx(0.6) and gpt2["ar_hits_loss"].n == 2
    assert table["cells"]["hyena"]["test"]["ar_hits_acc"].n == 0  # no such column: "—"
    md = recall_markdown(table)
    assert "| GPT-2 | 0.600 (0.141) | 1.600 (0.141) | — | 0.500 (0.141) |" in md
    assert "AR-hit loss (test)" in md
    assert recall_json(table)["models"]["hyena"]["test"]["other_loss"]["mean"] == 1.6
    assert recall_table(rows.drop(columns=["ar_hits_loss_test"]), spec) is None


def test_verdict_model_names_are_exact_before_they_are_globs() -> None:
    """``base_conv@64*4`` is a model spec, not a glob that also matches the hybrid."""
    low, hybrid = "base_conv@64*4", "base_conv@64*2,sparse_attention@64,base_conv@64"
    beats = {"kind": "beats", "id": "b", "question": "?", "a": [HIGH], "b": [low]}
    spec = {"models": [HIGH, low, hybrid], "axes": [], "splits": ["test"], "verdicts": [beats]}
    spec["verdicts"][0].update(metric="token_accuracy", split="test")
    rows = _rows({HIGH: [0.9], low: [0.1], hybrid: [1.0]})
    v = compute_verdicts(spec, rows)[0]
    assert v["answer"] == "yes" and hybrid not in v["evidence"][0]
    # a real glob still selects several models
    spec["verdicts"][0]["b"] = ["base_conv@64*"]
    assert compute_verdicts(spec, rows)[0]["answer"] == "no"  # the hybrid's 1.0 is in b now
