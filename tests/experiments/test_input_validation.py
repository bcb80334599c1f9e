"""Bad input to ``experiment run``/``show`` is one ``error:`` line, checked before ``--out``
is touched: a bad config, seed or device writes nothing, and a folder of the user's is
never taken for an experiment directory. Spec files given by path fail the same way."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from lolameme.cli import main
from lolameme.errors import DataError
from lolameme.experiments import runner
from lolameme.experiments.cell import EVAL_METRICS, RECALL_GROUPS, RECALL_KEYS
from lolameme.runs.layout import RUN_METRICS, SPLIT_METRICS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results"
RUN = ["experiment", "run", "layer_scan", "-s", "smoke", "--models", "gpt2", "-q"]


def cli(capsys: pytest.CaptureFixture[str], *argv: Any) -> tuple[int, str]:
    """``lolameme ARGV`` in this process: (exit code, stderr)."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def assert_one_error(code: int, err: str, *needles: str) -> None:
    assert code != 0, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, err)


def spec_file(tmp_path: Path, edit: Any, name: str = "spec.yaml") -> Path:
    """layer_scan's spec, changed by ``edit(mapping)``, written to a .yaml file."""
    data = yaml.safe_load((Path(runner.__file__).parent / "specs" / "layer_scan.yaml").read_text())
    edit(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _unknown_preset(data: dict[str, Any]) -> None:
    data["data"]["preset"] = "nope"
    for settings in (data.get("scales") or {}).values():
        (settings or {}).get("data", {}).pop("preset", None)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "data.FOO=1"], "FOO"),
        (["--device", "tpu"], "--device"),
        (["--seeds", "-1"], "--seeds"),
        (["--seeds", "99999999999999999999"], "--seeds"),
        (["--set", "train.device=cpu"], "--device"),
        (["--set", "train.seed=3"], "--seeds"),
        (["--set", "train.model=gpt2"], "--models"),
        (["--set", "train.threads=2"], "--workers"),
        (["--set", "train.out=x"], "--out"),
        (["--set", "train.resume=false"], "train.resume"),
        (["--set", "train.mixer_kwargs=5"], "train.mixer_kwargs"),
    ],
)
def test_a_bad_run_writes_nothing(capsys, tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "e3"
    code, err = cli(capsys, *RUN, "--out", out, *args)
    assert_one_error(code, err, needle)
    assert code == 2
    assert not out.exists()


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda d: d.update(task="nope"), "unknown task 'nope'"),
        (_unknown_preset, "unknown preset 'nope'"),
    ],
)
def test_a_spec_with_unknown_task_or_preset_writes_nothing(
    capsys, tmp_path: Path, edit: Any, needle: str
) -> None:
    spec = spec_file(tmp_path, edit)
    out = tmp_path / "e3"
    code, err = cli(capsys, "experiment", "run", spec, "-s", "smoke", "--out", out, "-q")
    assert_one_error(code, err, needle)
    assert not out.exists()


def test_a_failure_before_any_cell_removes_the_new_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Path:
        raise DataError("generation failed")

    monkeypatch.setattr(runner, "prepare_data", broken)
    out = tmp_path / "new" / "e3"
    with pytest.raises(DataError):
        runner.run_experiment("layer_scan", "smoke", out, progress=False, cell_fn=fake())
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(("item", "needle"), [("train.bogus=1", "bogus"), ("data.FOO=1", "FOO")])
def test_show_rejects_what_run_rejects(capsys, item: str, needle: str) -> None:
    code, err = cli(capsys, "experiment", "show", "layer_scan", "-s", "smoke", "--set", item)
    assert_one_error(code, err, needle)


def test_a_users_folder_with_a_specs_folder_is_refused(capsys, tmp_path: Path) -> None:
    out = tmp_path / "f4"
    (out / "specs").mkdir(parents=True)
    (out / "specs" / "notes.json").write_text('{"mine": 1}')
    (out / "invocations.jsonl").write_text("my log\n")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    code, err = cli(capsys, *RUN, "--out", out)
    assert_one_error(code, err, str(out), "not a lolameme experiment output")
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


@pytest.mark.parametrize("name", ["layer_scan", "listops"])
def test_a_copied_committed_directory_is_still_ours(run, fake, tmp_path: Path, name: str) -> None:
    copy = tmp_path / name
    shutil.copytree(DOCS / name, copy)  # no lock file: the committed ones have none
    assert runner.is_experiment_output(copy)
    summary = run(fake(), name, copy, scale="tiny")  # finishing it is accepted
    assert summary.cells > 0 and not summary.failed


def test_results_parquet_that_is_a_folder_is_named(capsys, tmp_path: Path) -> None:
    out = tmp_path / "exp"
    (out / "results.parquet").mkdir(parents=True)
    (out / "specs").mkdir()
    (out / ".results.parquet.lock").touch()
    code, err = cli(capsys, *RUN, "--out", out)
    assert_one_error(code, err, str(out / "results.parquet"))
    assert ".tmp" not in err


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b"name: x\n\xff\xfe oops\n", ("spec.yaml", "not UTF-8")),
        (b"name: x\naxes: [a, b\n", ("spec.yaml", "not valid YAML", "line 3, column 1")),
    ],
)
def test_an_unreadable_spec_file_is_one_error(
    capsys, tmp_path: Path, content: bytes, needles: tuple[str, ...]
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(content)
    code, err = cli(capsys, "experiment", "show", path)
    assert_one_error(code, err, *needles)


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (lambda d: d.update(axes=5), ("spec.yaml", "axes")),
        (lambda d: d.update(scales=5), ("spec.yaml", "scales")),
        (lambda d: d.update(extends=5), ("spec.yaml", "extends")),
        (
            lambda d: d["tables"][0]["columns"][0].update(metric="nope"),
            ("table table7, column with_global", "unknown metric 'nope'"),
        ),
    ],
)
def test_a_malformed_spec_file_is_one_error(
    capsys, tmp_path: Path, edit: Any, needles: tuple[str, ...]
) -> None:
    code, err = cli(capsys, "experiment", "show", spec_file(tmp_path, edit))
    assert_one_error(code, err, *needles)


def test_the_known_metrics_are_the_ones_a_cell_records() -> None:
    recorded = set(EVAL_METRICS) | {f"{g}_{k}" for g in RECALL_GROUPS for k in RECALL_KEYS}
    assert recorded | {"baseline"} == set(SPLIT_METRICS)
    assert {"final_loss", "n_params", "steps"} <= set(RUN_METRICS)
