"""``lolameme generate`` and ``lolameme data ...``: outputs, and one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lolameme.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


SMALL = ["--set", "DATASET_SIZE=300", "--set", "TEST_DATASET_SIZE=50", "--workers", "1"]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "ds"
    main(["generate", "--preset", "tiny", "--out", str(out), *SMALL, "--seed", "4"])
    return out


def test_generate_writes_a_data_set_and_reports_it(made: Path) -> None:
    manifest = json.loads((made / "manifest.json").read_text())
    assert manifest["seed"] == 4 and manifest["preset"] == "tiny"
    assert manifest["splits"]["train"]["rows"] == 300
    assert json.loads((made / "config.json").read_text())["dataset_size"] == 300


def test_stats_prints_table_and_json(capsys, made: Path) -> None:
    code, out, _ = run(capsys, "data", "stats", str(made))
    assert code == 0 and "unique labels" in out and "global appearances min" in out
    code, out, _ = run(capsys, "data", "stats", str(made), "--json")
    stats = json.loads(out)
    train = stats["splits"]["train"]
    assert train["rows"] == 300 and train["global_appearances"]["min"] >= 50
    assert stats["splits"]["test_without_global"]["global_appearances"]["total"] == 0
    assert 0 < train["noise_share"] < 1


def test_show_prints_items_with_labels(capsys, made: Path) -> None:
    code, out, _ = run(capsys, "data", "show", str(made), "--split", "test_with_global", "-n", "3")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 3
    assert all("print(" in line and "  ->  " in line for line in lines)
    code, _, err = run(capsys, "data", "show", str(made), "--split", "nope")
    assert code == 2 and err.startswith("error: ") and "available" in err


def test_verify_and_presets(capsys, made: Path) -> None:
    code, out, _ = run(capsys, "data", "verify", str(made))
    assert code == 0 and out.count(", ok") == 3
    code, out, _ = run(capsys, "data", "presets")
    assert code == 0 and "lolameme" in out and "operator_pretraining" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--preset", "nope"], "unknown preset 'nope'"),
        (["--set", "MIN_INT_VALUE=9", "--set", "MAX_INT_VALUE=3"], "min_int_value=9"),
        (["--set", "DATASET_SIZE=0"], "dataset_size"),
        (["--set", "NOT_A_KNOB=1"], "unknown key 'NOT_A_KNOB'"),
        (["--task", "nope"], "unknown task 'nope'"),
    ],
)
def test_bad_input_is_one_error_line(capsys, tmp_path: Path, args, needle) -> None:
    out = tmp_path / "ds"
    code, _, err = run(capsys, "generate", "--preset", "tiny", "--out", str(out), *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and needle in err
    assert not out.exists()


def test_non_empty_directory_needs_overwrite(capsys, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, err = run(capsys, "generate", "--preset", "tiny", "--out", str(out), *SMALL)
    assert code == 2 and "choose another --out" in err and err.count("\n") == 1
    assert (out / "keep.txt").read_text() == "mine"
    code, _, err = run(
        capsys, "generate", "--preset", "tiny", "--out", str(out), *SMALL, "--overwrite"
    )  # --overwrite replaces an earlier data set only, never a user's directory
    assert code == 2 and "is not a lolameme data set" in err and err.count("\n") == 1
    assert (out / "keep.txt").read_text() == "mine"


def test_show_refuses_a_negative_count(capsys, made: Path) -> None:
    code, out, err = run(capsys, "data", "show", str(made), "-n", "-1")
    assert code == 2 and out == "" and "'-n'" in err


def test_show_with_more_items_than_the_split_prints_the_split(capsys, made: Path) -> None:
    huge = str(10**20)  # past a 64-bit batch size: the count is a bound, not a batch
    code, out, err = run(
        capsys, "data", "show", str(made), "--split", "test_with_global", "-n", huge
    )
    rows = out.strip().splitlines()
    from lolameme.data.store import open_dataset

    assert code == 0 and err == "" and len(rows) == open_dataset(made).rows("test_with_global")


def test_token_items_show_each_target_under_its_input() -> None:
    from lolameme.data.cli import format_token_item

    inputs = [1, 21, 2, 28, 7, 2, 100]
    targets = [-100, -100, -100, -100, 21, 28, -100]
    text = format_token_item(inputs, targets, width=30)
    lines = [x for x in text.splitlines() if x.strip()]
    rows = {x.split()[0]: x for x in lines if x.split()[0] in ("pos", "input", "target")}
    assert set(rows) == {"pos", "input", "target"}
    blocks = [lines[i : i + 3] for i in range(0, len(lines) - 1, 3)]
    assert len(blocks) == 2  # 7 columns of 4 characters do not fit 30: the item wraps
    seen = []
    for pos, inp, tgt in blocks:
        # every column ends at the same character in the three rows
        ends = [m.end() for m in re.finditer(r"\S+", pos)][1:]
        assert ends == [m.end() for m in re.finditer(r"\S+", inp)][1:]
        assert ends == [m.end() for m in re.finditer(r"\S+", tgt)][1:]
        seen += list(zip(inp.split()[1:], tgt.split()[1:], strict=True))
    assert seen == [
        ("1", "."),
        ("21", "."),
        ("2", "."),
        ("28", "."),
        ("7", "21"),
        ("2", "28"),
        ("100", "."),
    ]
    assert lines[-1].strip() == "(7 tokens, 2 with a target)"
