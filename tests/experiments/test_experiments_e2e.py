"""Real smoke runs: data generation, training, evaluation, results and report, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# The stages a cell runs, imported at collection: a broken one is an error, never a skip.
import lolameme.data.generate  # noqa: F401
import lolameme.evaluation.run_eval  # noqa: F401
import lolameme.models  # noqa: F401
import lolameme.training.trainer  # noqa: F401
from lolameme.experiments.grid import Selection
from lolameme.experiments.runner import run_experiment
from lolameme.experiments.spec_loader import available_experiments, load_spec
from lolameme.reporting.aggregate import display_name
from lolameme.reporting.report import write_report
from lolameme.reporting.results import read_results
from lolameme.runs.checkpoint import load_state


def _check_report(out: Path, name: str, models: list[str] | None = None) -> None:
    text = write_report(out).read_text()
    spec = load_spec(name)
    for table in spec.tables:
        for model in table.rows or spec.models:
            assert f"| {display_name(model)} |" in text  # every row, run or not
            if models and model not in models:
                continue
            line = next(x for x in text.splitlines() if x.startswith(f"| {display_name(model)} |"))
            assert "—" not in line.split("|")[2], line  # our number is there


def test_smoke_run_trains_evaluates_and_reports(tmp_path: Path) -> None:
    models = ["gpt2", "thex-13"]  # attention, Hyena and the adapters between them
    summary = run_experiment(
        "multi_language", "smoke", tmp_path, selection=Selection(models=models), progress=False
    )
    assert summary.ok == summary.cells == 2, summary.failed
    frame = read_results(tmp_path)
    for column in ("em_test_sample_mix", "em_test_module_mix", "final_loss", "n_params"):
        assert frame[column].notna().all(), column
    assert frame["em_test_sample_mix"].between(0, 1).all()
    assert (frame["steps"] == 2).all()
    _check_report(tmp_path, "multi_language", models)


def test_resume_continues_an_unfinished_cell_from_its_checkpoint(tmp_path: Path) -> None:
    args = dict(progress=False)
    first = run_experiment(
        "layer_scan",
        "smoke",
        tmp_path,
        selection=Selection(
            models=["gpt2"],
            sets=["train.steps=4", "train.stop_after=2", "train.checkpoint_every=1"],
        ),
        **args,
    )
    assert first.incomplete == 1 and first.ok == 0
    run_dir = tmp_path / "runs" / "layer_scan--smoke--gpt2--seed0"
    assert json.loads((run_dir / "run.json").read_text())["finished"]["step"] == 2
    kept = load_state(run_dir / "checkpoints" / "step-00000002")["train_seconds"]
    second = run_experiment(
        "layer_scan",
        "smoke",
        tmp_path,
        selection=Selection(models=["gpt2"], sets=["train.steps=4", "train.checkpoint_every=1"]),
        **args,
    )
    assert second.ok == 1 and second.skipped == 0
    steps = [
        json.loads(x)["step"]
        for x in (run_dir / "metrics.jsonl").read_text().splitlines()
        if json.loads(x).get("type") == "train"
    ]
    assert steps == sorted(steps) and steps[-1] == 4  # one history, continued, not restarted
    assert read_results(tmp_path).iloc[0]["steps"] == 4
    # the cell's training time counts the steps of the first call as well
    assert json.loads((run_dir / "run.json").read_text())["finished"]["resumed_seconds"] == kept
    assert read_results(tmp_path).iloc[0]["train_seconds"] > kept > 0
    third = run_experiment(
        "layer_scan",
        "smoke",
        tmp_path,
        selection=Selection(models=["gpt2"], sets=["train.steps=4", "train.checkpoint_every=1"]),
        **args,
    )
    assert third.skipped == 1 and third.ok == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", available_experiments())
def test_smoke_run_of_every_spec(tmp_path: Path, name: str) -> None:
    summary = run_experiment(name, "smoke", tmp_path, progress=False)
    assert summary.ok == summary.cells, summary.failed
    _check_report(tmp_path, name)
