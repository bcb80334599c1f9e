"""Every file of an experiment directory, damaged in turn: ``experiment run`` and
``report`` give one ``error:`` line naming it, or recover where the file is only
bookkeeping (a damaged cell record makes its cell run again; a damaged log line is
skipped). Training and data are faked (see conftest), the bookkeeping is real."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lolameme.errors import DataError
from lolameme.reporting.report import write_report

DAMAGE = ("truncated", "emptied", "garbage", "wrong schema")


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "emptied":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(random.Random(1).randbytes(max(64, len(data) // 3)))
    elif path.suffix == ".parquet":
        pd.DataFrame({"other": [1]}).to_parquet(path)
    else:
        path.write_text('["not", "an", "object"]\n')


@pytest.fixture
def finished(run, fake, tmp_path: Path) -> Path:
    out = tmp_path / "exp"
    summary = run(fake(), "multi_language", out)
    assert summary.ok == summary.cells > 0
    write_report(out)
    return out


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_results_and_specs_are_one_error(
    lolameme_cli, run, fake, finished: Path, tmp_path: Path, how: str
) -> None:
    for name in ("results.parquet", "specs/multi_language--smoke.json"):
        out = tmp_path / f"copy-{name.replace('/', '-')}"
        shutil.copytree(finished, out)
        _damage(out / name, how)
        code, _, err = lolameme_cli("report", out)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
        assert Path(name).name in err
        if name == "results.parquet":
            with pytest.raises(DataError, match="results.parquet.*rebuilt from"):
                run(fake(), "multi_language", out)
            (out / name).unlink()  # the advice works: rebuilt from the cell records
            work = fake()
            run(work, "multi_language", out)
            assert work.calls == []
            assert len(pd.read_parquet(out / name)) == len(pd.read_parquet(finished / name))


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_bookkeeping_is_recovered(
    lolameme_cli, run, fake, finished: Path, tmp_path: Path, how: str
) -> None:
    out = tmp_path / "copy"
    shutil.copytree(finished, out)
    record = sorted((out / "cells").glob("*.json"))[0]
    _damage(record, how)
    _damage(out / "invocations.jsonl", how)
    work = fake()
    summary = run(work, "multi_language", out)
    assert work.calls == [record.stem]  # only the cell whose record was lost runs again
    assert summary.ok == 1
    code, _, err = lolameme_cli("report", out)
    assert code == 0, err


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_eval_json_of_a_run(lolameme_cli, finished: Path, tmp_path: Path, how: str) -> None:
    """``report`` reads each run's eval.json for the breakdowns."""
    out = tmp_path / "copy"
    shutil.copytree(finished, out)
    evals = sorted((out / "runs").glob("*/eval.json"))
    assert evals
    _damage(evals[0], how)
    code, _, err = lolameme_cli("report", out)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert str(evals[0]) in err
