"""Exact match is strict string equality, and the breakdown covers scalar metadata."""

import pandas as pd
import pytest

from lolameme.evaluation.metrics import MAX_BREAKDOWN_VALUES, em_breakdown, exact_match


@pytest.mark.parametrize(
    ("prediction", "label", "expected"),
    [
        ("-48", "-48", True),
        ("-4", "-48", False),
        ("48", "-48", False),
        ("-480", "-48", False),
        (" -48", "-48", False),
        ("-48 ", "-48", False),
        ("", "-48", False),
        ("", "", False),  # an empty answer is never right
        ("0", "0", True),
    ],
)
def test_exact_match(prediction: str, label: str, expected: bool) -> None:
    assert exact_match(prediction, label) is expected


def test_breakdown_by_every_scalar_metadata_column() -> None:
    frame = pd.DataFrame(
        {
            "program": ["p1", "p2", "p3", "p4"],
            "label": ["1", "2", "3", "4"],
            "correct": [True, False, True, True],
            "dependency_depth": [1, 1, 2, 2],
            "language": ["lola", "meme", "lola", "meme"],
            "noise_statements": [0.0, 0.0, 1.0, 1.0],
            "globals_used": [["aB"], [], ["aB", "c"], []],  # list column: skipped
            "item_id": range(4),
        }
    )
    out = em_breakdown(frame, exclude={"program", "label"})
    assert out["dependency_depth"] == {"1": {"n": 2, "em": 0.5}, "2": {"n": 2, "em": 1.0}}
    assert out["language"] == {"lola": {"n": 2, "em": 1.0}, "meme": {"n": 2, "em": 0.5}}
    assert set(out["noise_statements"]) == {"0", "1"}
    assert "globals_used" not in out and "program" not in out and "correct" not in out
    assert "item_id" in out  # few distinct values: kept


def test_breakdown_skips_id_like_columns() -> None:
    n = MAX_BREAKDOWN_VALUES + 1
    frame = pd.DataFrame({"correct": [True] * n, "item_id": range(n), "depth": [1] * n})
    assert set(em_breakdown(frame)) == {"depth"}
