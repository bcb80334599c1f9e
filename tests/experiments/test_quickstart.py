"""``lolameme quickstart`` end to end on a short budget: data, run, eval and the table."""

from pathlib import Path

import pytest

from lolameme.cli import main


@pytest.mark.slow
def test_quickstart_runs_the_whole_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "qs"
    main(["quickstart", "--out", str(out), "--minutes", "0.5", "-q"])
    printed = capsys.readouterr().out
    assert "test_with_global" in printed and "test_without_global" in printed
    assert (out / "data" / "manifest.json").is_file()
    assert (out / "run" / "eval.json").is_file()
    assert not (out / ".probe").exists()
    assert len(list(out.glob("run/predictions-*.parquet"))) == 2
