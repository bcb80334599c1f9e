"""Runs that resume and evaluate from anywhere, refuse what cannot be resumed, keep their
history and their own eval.json; outputs readable by others; integers without a crash."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import SMOKE_MODEL, assert_one_error

# -- big integers (item 5) ------------------------------------------------------------


def _squarings(n: int) -> str:
    return "a = 2;" + "a = (a * a);" * n + "print(a)"


def test_exec_prints_integers_past_pythons_str_limit(lolameme_cli) -> None:
    code, out, err = lolameme_cli("exec", _squarings(14), "--no-latent")
    assert code == 0, err
    from lolameme.languages import format_int

    assert len(out.strip()) == 4933  # digits of 2**16384: past the 4,300 of str(int)
    assert out.strip() == format_int(2 ** (2**14))
    assert out.strip().endswith(str(2 ** (2**14) % 10**50))  # format_int is the decimal text


def test_a_value_past_the_limit_fails_at_once(lolameme_cli) -> None:
    from lolameme.languages import MAX_VALUE_BITS, NO_LATENT, ValueTooLargeError, evaluate, parse

    started = time.perf_counter()
    code, _, err = lolameme_cli("exec", _squarings(40), "--no-latent")
    assert_one_error(code, err, "exceeds the limit of 65536 bits", "statement index 16")
    assert time.perf_counter() - started < 30  # not the hours 2**(2**40) would take
    with pytest.raises(ValueTooLargeError) as caught:
        evaluate(parse(_squarings(40)), None, NO_LATENT, max_bits=1000)
    assert caught.value.statement_index == 10 and caught.value.max_bits == 1000
    # exactly at the limit is allowed: 2**(2**k) has 2**k + 1 bits
    assert evaluate(parse(_squarings(10)), None, NO_LATENT, max_bits=2**10 + 1) == 2 ** (2**10)
    code, _, err = lolameme_cli("exec", _squarings(10), "--no-latent", "--max-bits", "1024")
    assert_one_error(code, err, "1024 bits")
    assert MAX_VALUE_BITS >= 2**14 + 1


# -- resume (items 7, 8) --------------------------------------------------------------


def _train(data: Path, out: Path, *extra: object) -> list[object]:
    return ["train", "--data", data, "--out", out, *SMOKE_MODEL, "--batch-size", "8",
            "--eval-every", "0", "--threads", "1", "-q", *extra]  # fmt: skip


def test_resume_and_eval_work_from_another_directory(
    lolameme_cli, copy_dataset: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = copy_dataset(64, 8)
    monkeypatch.chdir(data.parent)
    assert (
        lolameme_cli(*_train(Path(data.name), Path("run"), "--steps", "4", "--stop-after", "2"))[0]
        == 0
    )
    saved = json.loads((tmp_path / "run" / "run.json").read_text())
    assert saved["config"]["data"] == str(data.resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = lolameme_cli("train", "--out", tmp_path / "run", "--resume", "-q")
    assert code == 0, err
    code, _, err = lolameme_cli("eval", tmp_path / "run", "--limit", "4", "-q")
    assert code == 0, err


def test_resume_refuses_what_it_cannot_resume_and_keeps_the_history(
    lolameme_cli, copy_dataset: Callable, tmp_path: Path
) -> None:
    data = copy_dataset(64, 8)
    code, _, err = lolameme_cli("train", "--out", tmp_path / "nope", "--resume", "-q")
    assert_one_error(code, err, "cannot resume", "does not exist")
    assert not (tmp_path / "nope").exists()
    code, _, err = lolameme_cli(*_train(data, tmp_path / "nope", "--steps", "2", "--resume"))
    assert_one_error(code, err, "cannot resume", "does not exist")
    run = tmp_path / "run"
    assert lolameme_cli(*_train(data, run, "--steps", "2"))[0] == 0
    history = (run / "metrics.jsonl").read_text()
    for entry in (run / "checkpoints").iterdir():  # a run stopped before its first checkpoint
        if entry.is_dir():
            import shutil

            shutil.rmtree(entry)
    code, _, err = lolameme_cli("train", "--out", run, "--resume", "-q")
    assert_one_error(code, err, "no checkpoint")
    assert (run / "metrics.jsonl").read_text() == history  # never truncated


def test_a_moved_data_set_is_named_on_resume(
    lolameme_cli, copy_dataset: Callable, tmp_path
) -> None:
    data = copy_dataset(64, 8)
    run = tmp_path / "run"
    assert lolameme_cli(*_train(data, run, "--steps", "4", "--stop-after", "2"))[0] == 0
    data.rename(data.with_name("moved"))
    code, _, err = lolameme_cli("train", "--out", run, "--resume", "-q")
    assert_one_error(code, err, "no longer exists", "--data")
    code, _, err = lolameme_cli(
        "train", "--out", run, "--resume", "-q", "--data", data.with_name("moved")
    )
    assert code == 0, err


# -- eval on other data (item 9) ------------------------------------------------------


def test_eval_on_other_data_checks_compatibility_and_keeps_the_runs_eval(
    lolameme_cli, toy, copy_dataset: Callable, tokens_dataset: Callable, tmp_path: Path
) -> None:
    data = copy_dataset(64, 8)
    run = tmp_path / "run"
    assert lolameme_cli(*_train(data, run, "--steps", "2"))[0] == 0
    assert lolameme_cli("eval", run, "-q")[0] == 0
    own = (run / "eval.json").read_text()
    # another task: refused before anything is decoded or written
    code, _, err = lolameme_cli("eval", run, "--data", tokens_dataset(), "-q")
    assert_one_error(code, err, "'mqar' data set", "trained on 'lolameme'")
    # same task, characters the run's tokenizer never saw
    foreign = toy.write(
        tmp_path / "foreign",
        {"train": toy.copy_items(8, 5), "test": toy.copy_items(8, 6, names="QZ")},
    )
    code, _, err = lolameme_cli("eval", run, "--data", foreign, "-q")
    assert_one_error(code, err, "cannot encode")
    # same task and alphabet: results go to RUN/evals/FINGERPRINT/, the run's are kept
    other = toy.write(
        tmp_path / "other", {"train": toy.copy_items(8, 7), "test": toy.copy_items(8, 8)}
    )
    code, _, err = lolameme_cli("eval", run, "--data", other, "-q")
    assert code == 0, err
    assert (run / "eval.json").read_text() == own
    (sub,) = (run / "evals").iterdir()
    assert (sub / "eval.json").is_file() and (sub / "predictions-test.parquet").is_file()
    assert json.loads((sub / "eval.json").read_text())["data"]["fingerprint"] == sub.name
    assert sorted(p.name for p in run.glob("predictions-*")) == ["predictions-test.parquet"]


# -- permissions (item 10) ------------------------------------------------------------


def test_checkpoint_files_follow_the_umask(lolameme_cli, copy_dataset: Callable, tmp_path) -> None:
    old = os.umask(0o022)
    try:
        assert lolameme_cli(*_train(copy_dataset(64, 8), tmp_path / "run", "--steps", "1"))[0] == 0
    finally:
        os.umask(old)
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_unreadable_checkpoint_is_reported_as_a_permission_error(
    lolameme_cli, copy_dataset: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    assert lolameme_cli(*_train(copy_dataset(64, 8), run, "--steps", "1"))[0] == 0
    import safetensors.torch

    def denied(model: object, filename: str, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", filename)

    monkeypatch.setattr(safetensors.torch, "load_model", denied)  # root reads anything
    code, _, err = lolameme_cli("eval", run, "-q")
    assert_one_error(code, err, "permission denied", "model.safetensors")
