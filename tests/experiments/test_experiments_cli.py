"""``lolameme experiment list|show|run`` from the command line: output and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lolameme.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_every_experiment_with_cells_per_scale(capsys) -> None:
    code, out, _ = _run(["experiment", "list"], capsys)
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("thex_variations "))
    assert line.split() == ["thex_variations", "11", "33", "33", "33", "Table", "1"]
    # columns line up whatever the reference's length (mqar's is long)
    lines = out.splitlines()
    mqar = next(x for x in lines if x.startswith("mqar "))
    assert lines[0].index("reference") == mqar.index("Zoology") == line.index("Table")
    rows = json.loads(_run(["experiment", "list", "--json"], capsys)[1])
    assert {r["name"] for r in rows} >= {"memorization", "layer_scan", "multi_language"}
    assert next(r for r in rows if r["name"] == "memorization")["cells"]["paper"] == 120


def test_show_prints_the_resolved_scale(capsys) -> None:
    code, out, _ = _run(["experiment", "show", "long_input", "--scale", "tiny", "--json"], capsys)
    spec = json.loads(out)
    assert code == 0 and spec["scale"] == "tiny" and len(spec["cells"]) == 33
    assert spec["tables"][0]["rows"][0] == "hyena"


def test_show_only_lists_the_cells_of_the_named_axis_points(capsys) -> None:
    argv = ["experiment", "show", "mqar", "--scale", "tiny", "--json"]
    code, out, _ = _run([*argv, "--only", "width=64", "--only", "lr=0.003"], capsys)
    cells = json.loads(out)["cells"]
    assert code == 0 and len(cells) == 11  # one per model
    assert all("width=64" in c and "lr=0.003" in c for c in cells)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["experiment", "show", "thex"],
            "unknown experiment 'thex' (valid: curriculum, layer_scan",
        ),
        (
            ["experiment", "show", "layer_scan", "--scale", "big"],
            "valid: smoke, tiny, small, paper",
        ),
        (
            ["experiment", "run", "layer_scan", "--out", "{tmp}", "--models", "gpt-2"],
            "unknown model(s) 'gpt-2' for experiment 'layer_scan' (valid: 'hyena'; 'gpt2'; 'thex-0",
        ),
        (
            ["experiment", "run", "layer_scan", "--out", "{tmp}", "--engine", "slurm"],
            "unknown engine 'slurm' (valid: local, ray)",
        ),
        (
            ["experiment", "run", "mqar", "--out", "{tmp}", "--only", "width=32"],
            "--only width: no point 32 at scale 'tiny' (values: 64, 128)",
        ),
    ],
)
def test_user_errors_are_one_line(argv, expected, capsys, tmp_path: Path) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = _run(argv, capsys)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert expected in err


def test_unknown_training_setting_fails_before_any_work(capsys, tmp_path: Path) -> None:
    import lolameme.training.config  # noqa: F401  (what checks the keys; broken = error)

    argv = ["experiment", "run", "layer_scan", "--out", str(tmp_path), "--set", "train.stepz=3"]
    code, _, err = _run(argv, capsys)
    assert code == 2 and "stepz" in err and err.count("\n") == 1
    assert not (tmp_path / "data").exists()


def test_unknown_model_spec_in_a_spec_file_lists_the_presets(capsys, tmp_path: Path) -> None:
    import yaml

    from lolameme.experiments.spec_loader import _read_yaml, _specs_dir

    spec = _read_yaml(_specs_dir() / "layer_scan.yaml")
    spec["models"] = ["hyena", "thex-99"]
    spec["tables"], spec["verdicts"] = [], []
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(spec))
    code, _, err = _run(["experiment", "run", str(path), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "thex-99" in err and "0 <= N <= 17" in err
    assert not (tmp_path / "o" / "data").exists()


def test_models_with_commas_are_selected_with_semicolons(capsys, tmp_path: Path) -> None:
    hybrid = "base_conv@{width},sparse_attention@{width}"
    argv = ["experiment", "run", "mqar", "--scale", "smoke", "--out", str(tmp_path / "x")]
    code, out, err = _run([*argv, "--models", f"attention@{{width}}*2;{hybrid}", "-q"], capsys)
    assert code == 0, err
    import pandas as pd

    results = pd.read_parquet(tmp_path / "x" / "results.parquet")
    assert set(results["model"]) == {"attention@{width}*2", hybrid}
