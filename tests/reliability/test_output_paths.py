"""Output-path hazards: no user file is ever lost, and every refusal comes before the work.

``--overwrite`` (and an experiment's resume-in-place) replaces only a directory lolameme
wrote, recognised by its manifest, ``run.json`` or results; an empty path, ``.``, the
home directory, a path under a file, a file, and a read-only parent are refused with one
error line, before anything is generated or trained.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import SMALL_DATA, SMOKE_MODEL, assert_one_error

GENERATE = ["generate", *SMALL_DATA, "--workers", "1"]


def _user_files(root: Path) -> dict[str, str]:
    """A user's directory: a thesis and a project folder."""
    (root / "projects").mkdir(parents=True)
    (root / "thesis.tex").write_text("years of work")
    (root / "projects" / "notes.md").write_text("keep")
    return {"thesis.tex": "years of work", "projects/notes.md": "keep"}


def _intact(root: Path, files: dict[str, str]) -> bool:
    return all((root / name).read_text() == text for name, text in files.items())


def test_generate_overwrite_refuses_a_users_directory(lolameme_cli, tmp_path: Path) -> None:
    home = tmp_path / "h"
    files = _user_files(home)
    code, _, err = lolameme_cli(*GENERATE, "-o", home, "--overwrite")
    assert_one_error(code, err, str(home), "not a lolameme data set")
    assert _intact(home, files)
    assert sorted(p.name for p in home.iterdir()) == ["projects", "thesis.tex"]


@pytest.mark.parametrize("where", ["", ".", "cwd-absolute", "parent-of-cwd", "home"])
def test_generate_refuses_the_current_and_home_directories(
    lolameme_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    work = tmp_path / "home" / "work"
    files = _user_files(work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    target = {
        "": "",
        ".": ".",
        "cwd-absolute": str(work),
        "parent-of-cwd": "..",
        "home": str(tmp_path / "home"),
    }[where]
    code, _, err = lolameme_cli(*GENERATE, "-o", target, "--overwrite")
    shown = target or "."  # the CLI reads -o as a Path, and Path("") is "."
    assert_one_error(code, err, f"refusing to write a data set to {shown}: ")
    assert _intact(work, files)


def test_generate_overwrite_replaces_an_earlier_data_set(lolameme_cli, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    assert lolameme_cli(*GENERATE, "-o", out, "--seed", "1")[0] == 0
    first = (out / "manifest.json").read_text()
    code, _, err = lolameme_cli(*GENERATE, "-o", out, "--seed", "2")
    assert_one_error(code, err, "--overwrite")
    assert lolameme_cli(*GENERATE, "-o", out, "--seed", "2", "--overwrite")[0] == 0
    assert (out / "manifest.json").read_text() != first


@pytest.fixture
def hazards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Output paths that cannot be written, with a word the error must contain."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root writes anyway: make it look so
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, m: real(p, m) and not (m & os.W_OK and Path(p) == locked)
        )
    yield {
        "under a file": (afile / "out", "is a file"),
        "is a file": (afile, "not a directory"),
        "read-only parent": (locked / "out", "permission denied"),
    }
    locked.chmod(0o755)


def test_generate_output_hazards_fail_before_the_work(lolameme_cli, hazards, monkeypatch) -> None:
    from lolameme.data import generate as generate_module

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the data set was built before the output path was checked")

    monkeypatch.setattr(generate_module, "atomic_directory", never)
    for path, needle in hazards.values():
        code, _, err = lolameme_cli(*GENERATE, "-o", path)
        assert_one_error(code, err, needle)


def test_train_output_hazards(lolameme_cli, hazards, copy_dataset: Callable) -> None:
    data = copy_dataset(32, 8)
    for path, needle in hazards.values():
        code, _, err = lolameme_cli(
            "train", "--data", data, "--out", path, *SMOKE_MODEL, "--steps", "1", "-q"
        )
        assert_one_error(code, err, needle)


def test_train_overwrite_refuses_a_users_directory(
    lolameme_cli, tmp_path: Path, copy_dataset: Callable
) -> None:
    out = tmp_path / "notarun"
    files = _user_files(out)
    code, _, err = lolameme_cli(
        "train", "--data", copy_dataset(32, 8), "--out", out, *SMOKE_MODEL,
        "--steps", "1", "--overwrite", "-q",
    )  # fmt: skip
    assert_one_error(code, err, "not a lolameme run")
    assert _intact(out, files)


def test_experiment_output_hazards_and_foreign_directories(lolameme_cli, hazards, tmp_path) -> None:
    home = tmp_path / "h"
    files = _user_files(home)
    cases = {**hazards, "a user's directory": (home, "not a lolameme experiment output")}
    for path, needle in cases.values():
        code, _, err = lolameme_cli(
            "experiment", "run", "multi_language", "--scale", "smoke", "-o", path, "-q"
        )
        assert_one_error(code, err, needle)
    assert _intact(home, files)
    assert sorted(p.name for p in home.iterdir()) == ["projects", "thesis.tex"]


def test_report_into_a_read_only_directory(lolameme_cli, tmp_path: Path) -> None:
    import pandas as pd

    out = tmp_path / "exp"
    out.mkdir()
    row = {"experiment": "x", "scale": "smoke", "cell_id": "c", "status": "ok", "tag": ""}
    pd.DataFrame([row]).to_parquet(out / "results.parquet")
    out.chmod(0o555)
    real = os.access
    try:
        with pytest.MonkeyPatch.context() as patch:  # root would write anyway
            patch.setattr(
                os, "access", lambda p, m: real(p, m) and not (m & os.W_OK and Path(p) == out)
            )
            code, _, err = lolameme_cli("report", out)
    finally:
        out.chmod(0o755)
    assert_one_error(code, err, "permission denied")


def test_check_output_dir_rules(tmp_path: Path) -> None:
    """The shared helper: ours only with --overwrite, foreign never, hidden partials ignored."""
    from lolameme._io import check_output_dir
    from lolameme.errors import OutputError

    def ours(path: Path) -> bool:
        return (path / "marker").is_file()

    out = tmp_path / "o"
    assert check_output_dir(out, is_ours=ours, what="thing") == out.resolve()
    out.mkdir()
    (out / ".o.partial-123-abc").mkdir()  # a killed build's leftover is not content
    check_output_dir(out, is_ours=ours, what="thing")
    (out / "marker").write_text("")
    with pytest.raises(OutputError, match="--overwrite"):
        check_output_dir(out, is_ours=ours, what="thing")
    check_output_dir(out, is_ours=ours, what="thing", overwrite=True)
    check_output_dir(out, is_ours=ours, what="thing", replace=False)
    (out / "marker").unlink()
    (out / "user.txt").write_text("")
    with pytest.raises(OutputError, match="not a lolameme thing"):
        check_output_dir(out, is_ours=ours, what="thing", overwrite=True)


def test_a_replacement_killed_between_its_renames_is_undone(tmp_path: Path) -> None:
    """SIGKILL after the old data set was moved aside, before the new one took its
    place: the next build puts the old one back, it never deletes it."""
    import subprocess
    import sys

    from lolameme._io import remove_stale_partials

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    out = tmp_path / "ds"
    aside = tmp_path / f".ds.old-{int(dead.stdout)}"
    aside.mkdir()
    (aside / "manifest.json").write_text("{}")
    remove_stale_partials(out)
    assert (out / "manifest.json").read_text() == "{}" and not aside.exists()
