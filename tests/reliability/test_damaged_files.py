"""Every file lolameme reads, damaged in turn: one ``error:`` line naming it, no traceback.

Four kinds of damage: truncated (half the bytes), emptied, garbage (random bytes), and a
wrong schema (a well-formed file of the wrong shape). Each damaged file is read by every
command that reads it. Checkpoints add one promise: ``train --resume`` falls back to the
previous checkpoint when the latest is damaged, and says so.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import SMOKE_MODEL, assert_one_error

DAMAGE = ("truncated", "emptied", "garbage", "wrong schema")


def damage(path: Path, how: str) -> None:
    """Damage ``path`` in place, keeping its name."""
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "emptied":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(random.Random(0).randbytes(max(64, len(data) // 3)))
    elif how == "wrong schema":
        path.write_bytes(_wrong_schema(path))
    else:
        raise ValueError(how)


def _wrong_schema(path: Path) -> bytes:
    """A file that parses as its format but is not what lolameme wrote there."""
    import io

    if path.suffix == ".json":
        return b'["a list, not the object this file holds"]\n'
    if path.suffix == ".parquet":
        import pandas as pd

        buffer = io.BytesIO()
        pd.DataFrame({"other": [1, 2, 3]}).to_parquet(buffer)
        return buffer.getvalue()
    if path.suffix == ".safetensors":
        import torch
        from safetensors.torch import save

        return save({"unrelated": torch.zeros(3)})
    if path.suffix == ".pt":
        import torch

        buffer = io.BytesIO()
        torch.save({"unrelated": torch.zeros(3)}, buffer)
        return buffer.getvalue()
    raise ValueError(path)


DATA_FILES = {
    # file in the data set -> commands (after the data path) that read it
    "manifest.json": ["stats", "show", "verify", "train", "eval"],
    "globals.json": ["stats", "verify"],
    "config.json": ["verify"],
    "data/train-00000-of-00001.parquet": ["stats", "show", "verify", "train"],
    "data/test_with_global-00000-of-00001.parquet": ["stats", "verify", "eval"],
}


def _data_command(command: str, data: Path, tmp_path: Path, run: Path) -> list[object]:
    if command in ("stats", "show", "verify"):
        return ["data", command, data]
    if command == "train":
        return ["train", "--data", data, "--out", tmp_path / "run", *SMOKE_MODEL, "--steps", "1",
                "--batch-size", "4", "-q"]  # fmt: skip
    return ["eval", run, "--data", data, "--limit", "4", "-q"]


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_data_set_files(
    lolameme_cli, generated: Path, trained: Path, copy_of: Callable[[Path], Path], how: str
) -> None:
    for name, commands in DATA_FILES.items():
        for command in commands:
            data = copy_of(generated)
            assert (data / name).is_file(), name
            damage(data / name, how)
            code, out, err = lolameme_cli(*_data_command(command, data, data.parent, trained))
            if command == "verify" and code == 1:
                # verify's own report: the damaged file is named among the problems
                assert "Traceback" not in err and name in out, out
            else:
                assert_one_error(code, err)
                assert Path(name).name in err, (name, command, err)
            shutil.rmtree(data)
            shutil.rmtree(data.parent / "run", ignore_errors=True)


def _edit_split(manifest: dict, key: str, value: object) -> None:
    manifest["splits"]["train"][key] = value


MANIFEST_EDITS = {
    # a hand edit of one field -> the words the error must contain
    "rows null": (lambda m: _edit_split(m, "rows", None), "'rows' must be a count"),
    "rows text": (lambda m: _edit_split(m, "rows", "many"), "'rows' must be a count"),
    "files of ints": (lambda m: _edit_split(m, "files", [1]), "'files' must list file names"),
    "file outside": (
        lambda m: _edit_split(m, "files", ["../elsewhere.parquet"]),
        "'files' must list file names inside",
    ),
    "split_order int": (lambda m: m.update(split_order=5), "'split_order' must list"),
    "sha256 text": (lambda m: m.update(sha256="abc"), "'sha256' must map"),
    "locals int": (lambda m: m.update(locals=5), "'locals' must be a list"),
    "task int": (lambda m: m.update(task=3), "'task' must be a string"),
}


@pytest.mark.parametrize("edit", sorted(MANIFEST_EDITS))
def test_manifest_fields_of_the_wrong_type(
    lolameme_cli, generated: Path, trained: Path, copy_of: Callable[[Path], Path], edit: str
) -> None:
    """Well-formed JSON, one field of the wrong type: every reader says which field."""
    change, words = MANIFEST_EDITS[edit]
    for command in DATA_FILES["manifest.json"]:
        data = copy_of(generated)
        manifest = json.loads((data / "manifest.json").read_text())
        change(manifest)
        (data / "manifest.json").write_text(json.dumps(manifest))
        code, _, err = lolameme_cli(*_data_command(command, data, data.parent, trained))
        assert_one_error(code, err, "manifest.json", words)
        shutil.rmtree(data)
        shutil.rmtree(data.parent / "run", ignore_errors=True)


def test_verify_names_a_replaced_shard(lolameme_cli, generated: Path, copy_of: Callable) -> None:
    """A shard replaced by another valid one (100 rows for 300) reads fine: only the
    manifest's sha256 and row count reveal it."""
    import pandas as pd

    data = copy_of(generated)
    shard = data / "data" / "train-00000-of-00001.parquet"
    pd.read_parquet(shard).iloc[:100].to_parquet(shard)
    code, out, _ = lolameme_cli("data", "verify", data)
    assert code == 1
    assert "train-00000-of-00001.parquet: sha256 differs" in out
    assert "100 rows read, the manifest says 300" in out


RUN_FILES = {
    # file in the run -> commands that read it
    "run.json": ["eval", "resume"],
    "tokenizer.json": ["eval", "resume"],
    "checkpoints/*/model.safetensors": ["eval", "resume"],
    "checkpoints/*/state.pt": ["resume"],
}


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_run_files(lolameme_cli, trained: Path, copy_of: Callable, how: str) -> None:
    for pattern, commands in RUN_FILES.items():
        for command in commands:
            run = copy_of(trained)
            files = sorted(run.glob(pattern))
            assert files, pattern
            for file in files:  # every checkpoint: nothing left to fall back to
                damage(file, how)
            argv = (
                ["eval", run, "--limit", "4", "-q"]
                if command == "eval"
                else ["train", "--out", run, "--resume", "--steps", "6", "-q"]
            )
            code, _, err = lolameme_cli(*argv)
            assert_one_error(code, err, Path(pattern).name.replace("*", ""))
            shutil.rmtree(run)


@pytest.mark.parametrize("name", ["model.safetensors", "state.pt"])
def test_resume_falls_back_to_the_previous_checkpoint(
    lolameme_cli, trained: Path, copy_of: Callable, name: str
) -> None:
    run = copy_of(trained)
    latest = run / "checkpoints" / "step-00000004"
    assert (run / "checkpoints" / "step-00000002").is_dir()
    damage(latest / name, "truncated")
    code, out, err = lolameme_cli("train", "--out", run, "--resume", "--steps", "6", "-q")
    assert code == 0, err
    assert f"damaged checkpoint file {latest / name}" in err
    assert "resuming from the previous complete checkpoint" in err and "step-00000002" in err
    assert (run / "checkpoints" / "step-00000006").is_dir()
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 6  # one history, from step 2 on


def test_damaged_latest_pointer_and_metrics_are_survivable(
    lolameme_cli, trained: Path, copy_of: Callable
) -> None:
    """``latest`` is only a hint, and metrics.jsonl a log: damage to either must not stop
    a resume (the newest complete checkpoint is found by listing)."""
    run = copy_of(trained)
    damage(run / "checkpoints" / "latest", "garbage")
    with open(run / "metrics.jsonl", "ab") as fh:
        fh.write(b'[1, 2]\n{"step": \xff\n')
    code, _, err = lolameme_cli("train", "--out", run, "--resume", "--steps", "6", "-q")
    assert code == 0, err
    assert (run / "checkpoints" / "step-00000006").is_dir()
