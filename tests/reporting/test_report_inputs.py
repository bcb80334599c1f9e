"""``report`` on a results table or an output path it cannot use: one ``error:`` line
that names the user's file (and the column), never a temporary file or a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results"


def _one_error(code: int, _: str, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    out = tmp_path / "layer_scan"
    shutil.copytree(DOCS / "layer_scan", out)
    return out


def test_a_copied_committed_directory_reports(lolameme_cli, copy: Path) -> None:
    code, _, err = lolameme_cli("report", copy)
    assert code == 0, err


def test_a_metric_column_of_text_names_the_file_and_column(lolameme_cli, copy: Path) -> None:
    path = copy / "results.parquet"
    frame = pd.read_parquet(path)
    frame["em_test_with_global"] = frame["em_test_with_global"].map(lambda v: f"{v}%")
    frame.to_parquet(path, index=False)
    line = _one_error(*lolameme_cli("report", copy))
    assert str(path) in line and "em_test_with_global" in line


@pytest.mark.parametrize("name", ["report.json", "report.md"])
def test_a_report_path_that_is_a_folder_is_named(lolameme_cli, copy: Path, name: str) -> None:
    (copy / name).unlink()
    (copy / name).mkdir()
    line = _one_error(*lolameme_cli("report", copy))
    assert str(copy / name) in line and ".tmp" not in line
