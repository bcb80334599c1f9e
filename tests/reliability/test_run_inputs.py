"""Bad inputs around a run: a foreign run.json, a logger that cannot start, a bad device or
seed, non-UTF-8 programs, run.json fields of the wrong type, an empty train split, and
read-only outputs. Each is one ``error:`` line naming the field or the user's path, and
nothing lolameme did not write is deleted or left half-written."""

from __future__ import annotations

import importlib.machinery
import io
import json
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import SMOKE_MODEL, assert_one_error


def _train(data: Path, out: Path, *extra: object) -> list[object]:
    return ["train", "--data", data, "--out", out, *SMOKE_MODEL, "--steps", "1",
            "--batch-size", "8", "--eval-every", "0", "--threads", "1", "-q", *extra]  # fmt: skip


def _snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


# -- 1: a run.json that is not a run's ------------------------------------------------


def test_overwrite_never_deletes_a_folder_with_a_foreign_run_json(
    lolameme_cli, generated: Path, tmp_path: Path
) -> None:
    from lolameme.training.trainer import is_run

    folder = tmp_path / "f2"
    folder.mkdir()
    (folder / "run.json").write_text('{"my": 1}\n')
    (folder / "keep.txt").write_text("precious\n")
    before = _snapshot(folder)
    assert not is_run(folder)
    code, _, err = lolameme_cli(*_train(generated, folder, "--overwrite"))
    assert_one_error(code, err, str(folder), "not a lolameme run")
    code, _, err = lolameme_cli(*_train(generated, folder))
    assert_one_error(code, err, str(folder), "not a lolameme run")
    for resume in (_train(generated, folder, "--resume"), ["train", "--out", folder, "--resume"]):
        code, _, err = lolameme_cli(*resume)
        assert_one_error(code, err, str(folder / "run.json"), "damaged")
    assert _snapshot(folder) == before


def test_a_run_is_recognised_by_its_run_json(trained: Path, tmp_path: Path) -> None:
    from lolameme.training.trainer import is_run

    assert is_run(trained)
    for text in ("[]", "not json", '{"config": {}}'):
        (tmp_path / "run.json").write_text(text)
        assert not is_run(tmp_path)
    (tmp_path / "run.json").write_bytes(b"\xff\xfe\x00")
    assert not is_run(tmp_path)


# -- 2: a logger that cannot start ----------------------------------------------------


@pytest.fixture
def failing_wandb(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``wandb`` whose ``init`` fails as the real one does without an API key."""
    fake = types.ModuleType("wandb")
    fake.__spec__ = importlib.machinery.ModuleSpec("wandb", None)

    def init(**_: object) -> None:
        raise RuntimeError("No API key configured. Use `wandb login` to log in.")

    fake.init = init  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wandb", fake)


def test_a_logger_that_cannot_start_leaves_no_half_written_run(
    lolameme_cli, generated: Path, trained: Path, copy_of: Callable[[Path], Path], tmp_path: Path,
    failing_wandb: None,
) -> None:  # fmt: skip
    fresh = tmp_path / "new" / "run"
    code, _, err = lolameme_cli(*_train(generated, fresh, "--wandb"))
    assert_one_error(code, err, "--wandb", "No API key configured")
    assert not (tmp_path / "new").exists()  # nothing of this call is left
    old = copy_of(trained)
    before = _snapshot(old)
    code, _, err = lolameme_cli(*_train(generated, old, "--wandb", "--overwrite"))
    assert_one_error(code, err, "--wandb", "No API key configured")
    assert _snapshot(old) == before  # the run --overwrite would replace is intact
    assert not list(old.parent.glob(f".{old.name}.*"))  # nor set aside and left hidden


# -- 3, 4: device and seed --------------------------------------------------------------


@pytest.mark.parametrize("device", ["tpu", "CPU", "mps", "meta"])
def test_train_eval_and_predict_reject_a_bad_device_alike(
    lolameme_cli, generated: Path, trained: Path, tmp_path: Path, device: str
) -> None:
    lines = []
    for argv in (
        _train(generated, tmp_path / "run", "--device", device),
        ["eval", trained, "--device", device, "-q"],
        ["predict", trained, "a = 1;print(a)", "--device", device],
    ):
        code, _, err = lolameme_cli(*argv)
        assert_one_error(code, err, f"--device '{device}'", "auto, cpu, cuda")
        lines.append(err)
    assert len(set(lines)) == 1, lines
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("seed", ["-1", str(2**32), "99999999999999999999"])
def test_a_seed_out_of_range_is_one_error(
    lolameme_cli, generated: Path, tmp_path: Path, seed: str
) -> None:
    code, _, err = lolameme_cli(*_train(generated, tmp_path / "run", f"--seed={seed}"))
    assert_one_error(code, err, "field 'seed'")
    assert not (tmp_path / "run").exists()


def test_the_seed_field_is_bounded(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from lolameme.training import TrainConfig

    base = {"data": tmp_path, "model": "gpt2", "out": tmp_path / "run"}
    assert TrainConfig(**base, seed=2**32 - 1).seed == 2**32 - 1
    for bad in (-1, 2**32):
        with pytest.raises(ValidationError, match="seed"):
            TrainConfig(**base, seed=bad)


# -- 5: programs that are not UTF-8 -----------------------------------------------------


def test_predict_answers_the_others_when_one_program_is_not_utf8(
    lolameme_cli, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = b"a = 1;print(a)\xff".decode("utf-8", "surrogateescape")  # as argv holds it
    code, out, err = lolameme_cli("predict", trained, bad, "a = 2;print(a)", "--json")
    assert_one_error(code, err, "program 1", "not UTF-8", "0xff")
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["prediction"] is None and "not UTF-8" in first["error"]
    assert "error" not in second and isinstance(second["prediction"], str)
    stdin = io.TextIOWrapper(io.BytesIO(b"a = 2;print(a)\na = 1;print(a)\xff\n"))
    monkeypatch.setattr("sys.stdin", stdin)
    code, out, err = lolameme_cli("predict", trained, "-", "--json")
    assert_one_error(code, err, "program 2", "not UTF-8")
    assert [("error" in json.loads(line)) for line in out.splitlines()] == [False, True]


# -- 6, 7: run.json fields of the wrong type, binary files ------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_seq_len", "x"),
        ("vocab_size", "x"),
        ("max_answer_tokens", "x"),
        ("data", "x"),
        ("config", []),
    ],
)
def test_a_run_json_field_of_the_wrong_type_is_one_error(
    lolameme_cli, trained: Path, copy_of: Callable[[Path], Path], tmp_path: Path, field: str,
    value: object,
) -> None:  # fmt: skip
    run = copy_of(trained)
    meta = json.loads((run / "run.json").read_text())
    meta[field] = value
    (run / "run.json").write_text(json.dumps(meta))
    for argv in (
        ["eval", run, "-q", "--limit", "2"],
        ["predict", run, "a = 1;print(a)"],
        ["export", run, "--to", tmp_path / "export", "--format", "safetensors"],
    ):
        code, _, err = lolameme_cli(*argv)
        assert_one_error(code, err, str(run / "run.json"), f"field '{field}'")
    assert not (tmp_path / "export").exists()


def test_export_to_a_folder_with_a_binary_run_json_is_one_error(
    lolameme_cli, trained: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "run.json").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    code, _, err = lolameme_cli("export", trained, "--to", target, "--format", "safetensors")
    assert_one_error(code, err, str(target), "not an earlier lolameme export")
    assert (target / "run.json").read_bytes().startswith(b"\xff\xd8")


def test_eval_replaces_a_binary_eval_json(
    lolameme_cli, trained: Path, copy_of: Callable[[Path], Path]
) -> None:
    run = copy_of(trained)
    (run / "eval.json").write_bytes(b"\xff\xfe garbage")
    code, _, err = lolameme_cli("eval", run, "-q", "--limit", "2", "--split", "test_with_global")
    assert code == 0, err
    assert json.loads((run / "eval.json").read_text())["step"] == 4


# -- 8: an empty train split --------------------------------------------------------------


def test_an_empty_train_split_is_one_error_naming_it(
    lolameme_cli, generated: Path, copy_of: Callable[[Path], Path], tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    data = copy_of(generated)
    shards = sorted((data / "data").glob("train*.parquet"))
    assert shards
    for shard in shards:
        pq.write_table(pq.read_table(shard).slice(0, 0), shard)
    code, _, err = lolameme_cli(*_train(data, tmp_path / "run"))
    assert_one_error(code, err, "'train' split has no rows", str(shards[0]))
    assert not (tmp_path / "run").exists()


# -- 9: read-only outputs are named as the user named them --------------------------------


def test_export_to_a_read_only_folder_names_the_target(
    lolameme_cli, trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*, dir: str, prefix: str, **_: object) -> str:
        raise PermissionError(13, "Permission denied", f"{dir}/{prefix}abc")

    monkeypatch.setattr("lolameme._io.tempfile.mkdtemp", read_only)
    target = tmp_path / "ro" / "x"
    code, _, err = lolameme_cli("export", trained, "--to", target, "--format", "safetensors")
    assert_one_error(code, err, f"permission denied: cannot write {target}")
    assert ".partial" not in err


def test_eval_on_a_read_only_run_fails_before_replacing_anything(
    lolameme_cli, trained: Path, copy_of: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = copy_of(trained)
    (run / "eval.json").write_text('{"old": true}\n')
    (run / "predictions-test_with_global.parquet").write_bytes(b"old predictions")
    before = _snapshot(run)
    real_access = os.access

    def access(path: object, mode: int, **kw: object) -> bool:  # as chattr +i (root: chmod)
        if Path(str(path)) == run and mode & os.W_OK:
            return False
        return real_access(path, mode, **kw)

    monkeypatch.setattr(os, "access", access)
    code, _, err = lolameme_cli("eval", run, "-q", "--limit", "2")
    assert_one_error(code, err, f"permission denied: cannot write {run}")
    assert _snapshot(run) == before


def test_eval_names_the_predictions_file_not_its_temporary(
    lolameme_cli, trained: Path, copy_of: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    def denied(self: object, path: object, **_: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", denied)
    run = copy_of(trained)
    code, _, err = lolameme_cli("eval", run, "-q", "--limit", "2", "--split", "test_with_global")
    target = run / "predictions-test_with_global.parquet"
    assert_one_error(code, err, f"permission denied: cannot write {target}")
    assert ".tmp" not in err
