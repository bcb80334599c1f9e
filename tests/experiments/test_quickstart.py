"""``lolameme quickstart`` end to end on a short budget: data, run, eval and the table."""

import json
from pathlib import Path

import pytest

from lolameme.cli import main


@pytest.mark.slow
def test_quickstart_runs_the_whole_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "qs"
    main(["quickstart", "--out", str(out), "--minutes", "0.5", "-q"])
    printed = capsys.readouterr().out
    assert "test_with_global" in printed and "test_without_global" in printed
    # the baseline beside EM: the tiny data's most common label is 0.210 / 0.150 of the tests
    header = next(line for line in printed.splitlines() if line.startswith("split"))
    assert header.split() == ["split", "n", "EM", "loss", "majority"]
    rows = {line.split()[0]: line.split() for line in printed.splitlines() if line.strip()}
    assert rows["test_with_global"][-1] == "0.210" and rows["test_without_global"][-1] == "0.150"
    config = json.loads((out / "run" / "run.json").read_text())["config"]
    assert config["init"] == "pytorch" and config["loss"] == "answer" and config["lr"] == 3e-3
    assert (out / "data" / "manifest.json").is_file()
    assert (out / "run" / "eval.json").is_file()
    assert not (out / ".probe").exists()
    assert len(list(out.glob("run/predictions-*.parquet"))) == 2
