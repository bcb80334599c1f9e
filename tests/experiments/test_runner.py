"""The runner's bookkeeping with fake training: results rows, resume, failures, staleness."""

from __future__ import annotations

import json
import operator
import os
from pathlib import Path

import pandas as pd
import pytest

from lolameme.errors import ConfigError
from lolameme.experiments.engines import LocalEngine, make_engine
from lolameme.reporting.results import read_results, read_specs


def test_every_cell_gets_one_row_with_metrics_and_settings(fake, run, tmp_path: Path) -> None:
    work = fake()
    summary = run(work, "memorization", tmp_path)
    frame = read_results(tmp_path)
    assert summary.cells == summary.ok == len(frame) == 8  # 4 models x 2 points x 1 seed
    assert set(frame["status"]) == {"ok"}
    assert set(frame["globalvar_count"]) == {2, 4}
    row = frame[frame["cell_id"] == "memorization--smoke--gpt2--globalvar_count=4--seed0"].iloc[0]
    assert row["em_test_with_global"] == pytest.approx(0.05)
    assert row["em_test_without_global"] == pytest.approx(-0.15)  # fake numbers, not clipped
    assert row["loss_test_with_global"] == pytest.approx(0.95)
    assert row["final_loss"] == pytest.approx(1.5)
    assert row["n_params"] == 1234 and row["steps"] == 3
    assert row["run_dir"] == "runs/memorization--smoke--gpt2--globalvar_count=4--seed0"
    assert ("memorization", "smoke") in read_specs(tmp_path)


def test_each_data_set_is_generated_once(fake, run, data_calls, tmp_path: Path) -> None:
    run(fake(), "memorization", tmp_path)
    assert len(data_calls) == 2  # two GLOBALVAR_COUNT points shared by four models
    run(fake(), "memorization", tmp_path, seeds=[1])
    assert len(data_calls) == 2  # cached by hash under DIR/data
    assert len(list((tmp_path / "data").iterdir())) == 2


def test_rerun_skips_finished_cells(fake, run, tmp_path: Path) -> None:
    run(fake(), "layer_scan", tmp_path)
    again = fake()
    summary = run(again, "layer_scan", tmp_path)
    assert again.calls == [] and summary.skipped == 6
    assert len(read_results(tmp_path)) == 6


def test_interrupted_run_resumes_without_redoing_finished_cells(fake, run, tmp_path: Path) -> None:
    first = fake(interrupt_at=4)
    with pytest.raises(KeyboardInterrupt):
        run(first, "thex_variations", tmp_path)
    assert len(first.calls) == 4
    assert len(read_results(tmp_path)) == 4
    second = fake()
    summary = run(second, "thex_variations", tmp_path)
    assert summary.skipped == 4
    assert set(second.calls).isdisjoint(first.calls)
    assert len(second.calls) == 11 - 4
    assert len(read_results(tmp_path)) == 11
    log = [json.loads(x) for x in (tmp_path / "invocations.jsonl").read_text().splitlines()]
    assert [x["ok"] for x in log] == [4, 7]


def test_record_written_before_a_driver_crash_is_picked_up(fake, run, tmp_path: Path) -> None:
    run(fake(), "multi_language", tmp_path)
    (tmp_path / "results.parquet").unlink()  # the driver died before updating the table
    again = fake()
    run(again, "multi_language", tmp_path)
    assert again.calls == []
    assert len(read_results(tmp_path)) == 4


def test_failed_cells_are_recorded_and_run_again(fake, run, tmp_path: Path) -> None:
    failing = fake(fail=lambda cell: cell.model == "gpt2")
    summary = run(failing, "multi_language", tmp_path)
    assert summary.failed == ["multi_language--smoke--gpt2--seed0"]
    frame = read_results(tmp_path)
    bad = frame[frame["model"] == "gpt2"].iloc[0]
    assert bad["status"] == "failed" and "loss became nan" in bad["error"]
    assert "RuntimeError" in (tmp_path / "cells" / f"{summary.failed[0]}.error.txt").read_text()
    retry = fake()
    run(retry, "multi_language", tmp_path)
    assert retry.calls == ["multi_language--smoke--gpt2--seed0"]
    frame = read_results(tmp_path)
    assert len(frame) == 4 and set(frame["status"]) == {"ok"}  # the row was replaced


def test_changed_settings_are_refused_unless_replaced(fake, run, tmp_path: Path) -> None:
    run(fake(), "layer_scan", tmp_path, models=["gpt2"])
    with pytest.raises(ConfigError, match="other settings.*--replace"):
        run(fake(), "layer_scan", tmp_path, models=["gpt2"], sets=["train.steps=4"])
    again = fake()
    run(again, "layer_scan", tmp_path, models=["gpt2"], sets=["train.steps=4"], replace=True)
    assert len(again.calls) == 1
    frame = read_results(tmp_path)
    assert len(frame) == 1 and frame.iloc[0]["overrides"] == "train.steps=4"


def test_tagged_cells_live_beside_the_canonical_ones(fake, run, tmp_path: Path) -> None:
    run(fake(), "layer_scan", tmp_path, models=["gpt2"])
    run(
        fake(),
        "layer_scan",
        tmp_path,
        models=["gpt2"],
        tag="calib-a",
        sets=["data.GLOBALVAR_COUNT=3"],
    )
    frame = read_results(tmp_path)
    assert sorted(frame["tag"]) == ["", "calib-a"]
    assert frame[frame["tag"] == "calib-a"].iloc[0]["cell_id"].startswith("tag=calib-a--")
    spec = json.loads((tmp_path / "specs" / "layer_scan--smoke.json").read_text())
    assert spec["overrides"] == {}  # the untagged grid's spec, not the calibration run's


def test_a_tagged_run_into_a_new_folder_writes_its_spec(fake, run, tmp_path: Path) -> None:
    """Without a spec the report has no tables to fill: the tagged run's spec stands in."""
    sets = ["data.GLOBALVAR_COUNT=3"]
    run(fake(), "layer_scan", tmp_path, models=["gpt2"], tag="calib-a", sets=sets)
    spec = json.loads((tmp_path / "specs" / "layer_scan--smoke.json").read_text())
    assert spec["name"] == "layer_scan" and spec["scale"] == "smoke"
    assert spec["overrides"] == {"data": {"overrides": {"GLOBALVAR_COUNT": 3}}}


PID_PROBE = """
import os
import time


def pid_when_two(folder):
    # Note this worker's pid, then wait (at most 30 s) until a second process has too:
    # two tasks can only both return quickly if they run side by side.
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + 30
    while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.getpid()
"""


def test_local_pool_runs_tasks_in_parallel_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers are two processes other than this one, and both take tasks."""
    assert sorted(LocalEngine(workers=2).map(operator.neg, [1, 2, 3])) == [-3, -2, -1]
    (tmp_path / "lm_pid_probe.py").write_text(PID_PROBE)  # importable by spawned workers
    monkeypatch.syspath_prepend(str(tmp_path))
    from lm_pid_probe import pid_when_two

    seen = tmp_path / "pids"
    seen.mkdir()
    pids = list(LocalEngine(workers=2).map(pid_when_two, [seen, seen]))
    assert os.getpid() not in pids
    assert len(set(pids)) == 2, pids


def test_ray_engine_without_ray_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ConfigError, match=r"pip install 'lolameme\[ray\]'"):
        make_engine("ray", 1)


def test_unknown_engine_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match="valid: local, ray"):
        make_engine("slurm", 1)


def test_results_table_is_a_plain_parquet_file(fake, run, tmp_path: Path) -> None:
    run(fake(), "operator_pretraining", tmp_path)
    frame = pd.read_parquet(tmp_path / "results.parquet")
    assert list(frame.columns[:4]) == ["experiment", "scale", "tag", "cell_id"]
    assert set(frame["regime"]) == {"base", "pretrain"}
    assert "em_test_with_global" not in frame.columns  # only the spec's splits


def test_stopping_the_pool_early_ends_its_workers() -> None:
    """Closing the results ends the workers busy with long tasks now, not when done."""
    import multiprocessing
    import time

    before = {p.pid for p in multiprocessing.active_children()}
    results = LocalEngine(workers=2).map(time.sleep, [0.01, 30, 30, 30])
    started = time.perf_counter()
    assert next(results) is None  # the short task
    workers = [p for p in multiprocessing.active_children() if p.pid not in before]
    assert len(workers) == 2
    results.close()  # the consumer goes away (as on Ctrl-C in the driver)
    assert time.perf_counter() - started < 10
    deadline = time.monotonic() + 5
    while any(p.is_alive() for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(p.is_alive() for p in workers)
    assert not [p for p in multiprocessing.active_children() if p.pid not in before]


class _FakeRay:
    """Just enough of Ray's API to check what the engine asks of it."""

    def __init__(self) -> None:
        self.options: list[dict] = []
        self.in_flight = self.most_in_flight = 0

    def is_initialized(self) -> bool:
        return True

    def remote(self, fn):
        ray = self

        class _Remote:
            def options(self, **options):
                ray.options.append(options)
                return self

            def remote(self, *args):
                ray.in_flight += 1
                ray.most_in_flight = max(ray.most_in_flight, ray.in_flight)
                return fn(*args)

        return _Remote()

    def wait(self, pending, num_returns=1):
        self.in_flight -= 1
        return pending[:num_returns], pending[num_returns:]

    def get(self, ref):
        return ref


def test_ray_engine_asks_for_each_cells_resources_and_caps_in_flight(monkeypatch) -> None:
    import sys
    from types import SimpleNamespace

    fake_ray = _FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake_ray)
    tasks = [SimpleNamespace(resources={"cpus": 8, "gpus": 1}, x=i) for i in range(5)]
    results = list(make_engine("ray", 2).map(lambda t: t.x * 10, tasks))
    assert sorted(results) == [0, 10, 20, 30, 40]
    assert fake_ray.options == [{"num_cpus": 8, "num_gpus": 1}] * 5
    assert fake_ray.most_in_flight == 2


def test_majority_baseline_is_the_share_of_the_top_training_label(tmp_path: Path) -> None:
    from lolameme._io import atomic_directory
    from lolameme.data.store import DatasetWriter
    from lolameme.experiments.cell import majority_baselines

    with atomic_directory(tmp_path / "ds") as tmp:
        writer = DatasetWriter(tmp)
        train = pd.DataFrame({"program": list("abcde"), "label": ["7", "7", "7", "3", "-7"]})
        writer.write_shard("train", 0, train)
        test = pd.DataFrame({"program": list("fghi"), "label": ["7", "3", "70", "7"]})
        writer.write_shard("test_with_global", 0, test)
        writer.finish(task="lolameme", format="text", config={}, seed=0)
    assert majority_baselines(tmp_path / "ds", ("test_with_global",)) == {"test_with_global": 0.5}


def test_rows_carry_the_baseline_of_their_data(fake, run, tmp_path: Path) -> None:
    run(fake(), "layer_scan", tmp_path, models=["gpt2"])
    row = read_results(tmp_path).iloc[0]
    assert row["baseline_test_with_global"] == 0.1 and row["baseline_test_without_global"] == 0.1
