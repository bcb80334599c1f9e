"""The committed evidence stays reproducible and the prose stays true to it.

``docs/results/*/`` hold the grids' ``results.parquet`` with the reports written from
them; ``findings.md`` and the READMEs quote their numbers by hand. Two checks:

- every committed report is what ``lolameme report`` writes from its directory today,
  byte for byte (a change to the reporting code that moves a committed number fails
  here, and the fix is to regenerate and commit the reports);
- every ``mean (std)`` quoted in the findings and the READMEs is one the committed
  results give: a cell of a report, or a model's mean over its seeds of its per-seed
  average across a grid's axis (the findings' "on average over 10-80 globals").
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lolameme.reporting.report import write_report

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "results"
REPORTED = sorted(p.parent for p in RESULTS.glob("*/report.md"))
# the prose that quotes committed grids (calibration.md quotes sweeps that are not grids)
QUOTING = [RESULTS / "findings.md", RESULTS / "README.md", ROOT / "README.md"]
PAIR = re.compile(r"(\d\.\d{3,4}) \((\d\.\d{3,4})\)")


def test_there_is_evidence_to_check() -> None:
    assert len(REPORTED) >= 5 and all(p.is_file() for p in QUOTING)


@pytest.mark.parametrize("directory", REPORTED, ids=lambda p: p.name)
def test_committed_report_regenerates_byte_for_byte(directory: Path, tmp_path: Path) -> None:
    copy = tmp_path / directory.name
    shutil.copytree(directory, copy, ignore=shutil.ignore_patterns("figures"))
    write_report(copy)
    for name in ("report.md", "report.json"):
        assert (copy / name).read_bytes() == (directory / name).read_bytes(), (
            f"{directory.name}/{name} is not what `lolameme report` writes from its "
            "results today: regenerate it and commit it"
        )


def _committed_pairs() -> set[tuple[float, float]]:
    pairs: set[tuple[float, float]] = set()
    for directory in REPORTED:
        text = (directory / "report.md").read_text(encoding="utf-8")
        pairs |= {(float(m), float(s)) for m, s in PAIR.findall(text)}
        frame = pd.read_parquet(directory / "results.parquet")
        if "tag" not in frame.columns:
            frame["tag"] = ""
        if {"em_test_with_global", "em_test_without_global"} <= set(frame.columns):
            # the fall from with to without globals, per seed (findings, row 6)
            frame["drop_em"] = frame["em_test_with_global"] - frame["em_test_without_global"]
        for column in [c for c in frame.columns if c.startswith(("em_", "acc_", "drop_"))]:
            per_seed = frame.groupby(["experiment", "tag", "model", "seed"])[column].mean()
            over = per_seed.groupby(["experiment", "tag", "model"]).agg(["mean", "std"]).dropna()
            pairs |= set(zip(over["mean"], over["std"], strict=True))
    return pairs


def _unknown_quotes(text: str, pairs: set[tuple[float, float]]) -> list[str]:
    """The ``mean (std)`` quotes of ``text`` that no pair gives, to one rounding."""
    return [
        f"{m} ({s})"
        for m, s in PAIR.findall(text)
        if not any(abs(float(m) - a) <= 6e-4 and abs(float(s) - b) <= 6e-4 for a, b in pairs)
    ]


@pytest.mark.parametrize("document", QUOTING, ids=lambda p: str(p.relative_to(ROOT)))
def test_quoted_numbers_come_from_committed_results(document: Path) -> None:
    unknown = _unknown_quotes(document.read_text(encoding="utf-8"), _committed_pairs())
    assert not unknown, f"{document.name} quotes numbers no committed result gives: {unknown}"


def test_a_misquote_is_caught() -> None:
    pairs = {(0.50224, 0.01843)}
    assert _unknown_quotes("Hyena 0.502 (0.018), the report 0.5022 (0.0184)", pairs) == []
    assert _unknown_quotes("Hyena 0.520 (0.018)", pairs) == ["0.520 (0.018)"]
    assert _unknown_quotes("Hyena 0.502 (0.028)", pairs) == ["0.502 (0.028)"]
