"""docs/models.md, "Add your own mixer": the example file is the one the page shows, and
its commands run as written, in a fresh process with the example on PYTHONPATH."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

import lolameme

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "models.md"
SECTION = "## Add your own mixer"


def _section() -> str:
    text = DOCS.read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", _section(), flags=re.DOTALL)


def test_the_page_shows_the_example_file_verbatim() -> None:
    assert _blocks("python")[0] == (ROOT / "docs" / "examples" / "cummean.py").read_text()


def test_the_documented_commands_run_as_written(tmp_path: Path) -> None:
    lines = [line.split("  #")[0].strip() for line in _blocks("bash")[0].strip().splitlines()]
    assert lines[0] == "export PYTHONPATH=docs/examples"
    commands = [shlex.split(line) for line in lines[1:]]
    assert all(c[0] == "lolameme" for c in commands)
    assert [c[1] for c in commands] == [
        "models",
        "generate",
        "train",
        "eval",
        "experiment",
        "report",
    ]
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    # One interpreter runs every command in turn (one torch import, not six); the
    # example reaches it through PYTHONPATH only, as in the docs.
    driver = (
        "import sys, json; from lolameme.cli import main\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    print('$', *args, flush=True)\n"
        "    main(args)\n"
    )
    src = str(Path(lolameme.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, "docs/examples"])}
    env["OMP_NUM_THREADS"] = "1"  # smoke-size tensors: one thread, no spinning on a busy box
    done = subprocess.run(
        [sys.executable, "-c", driver, json.dumps([c[1:] for c in commands])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "cummean:CumMean" in out and "FAIL" not in out
    run = tmp_path / "runs" / "cummean"
    meta = json.loads((run / "run.json").read_text())
    assert [layer["mixer"] for layer in meta["model"]["layers"]] == ["attention", "cummean:CumMean"]
    assert (run / "eval.json").is_file()
    results = pd.read_parquet(tmp_path / "results" / "cummean" / "results.parquet")
    assert sorted(results["model"]) == sorted(
        ["attention*2", "cummean:CumMean*2", "attention,cummean:CumMean", "gru_lm:build"]
    )
    assert (results["status"] == "ok").all() and results["n_params"].gt(0).all()
    report = (tmp_path / "results" / "cummean" / "report.md").read_text()
    assert "cummean_mqar" in report or "CumMean" in report
