"""The README.md data-set card: Hugging Face ``datasets`` reads the splits by it, it
describes the data truthfully, and it never changes the data set's identity."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from lolameme.cli import main
from lolameme.data.card import CARD
from lolameme.data.store import fingerprint, load_split, open_dataset, sha256_file
from lolameme.data.tasks import get_task

datasets = pytest.importorskip("datasets")  # a test-only dependency

SMALL_LOLA = {
    "DATASET_SIZE": 200,
    "TEST_DATASET_SIZE": 40,
    "GLOBALVAR_COUNT": 12,
    "GLOBAL_VARIABLES_NUM_APPEARANCE": 20,
}
CASES = [
    ("lolameme", "mixed", SMALL_LOLA),  # four test splits with custom names
    ("listops", "smoke", {}),
    ("mqar", "smoke", {"num_train": 96}),
]


def _card(path: Path) -> tuple[dict[str, Any], str]:
    text = (path / CARD).read_text()
    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


def _load_offline(path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    return datasets.load_dataset(str(path), cache_dir=str(cache))


@pytest.mark.parametrize(("task", "preset", "overrides"), CASES, ids=[c[0] for c in CASES])
def test_load_dataset_reads_the_splits_by_the_card(
    task: str,
    preset: str,
    overrides: dict[str, Any],
    build_task_dataset,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = build_task_dataset(task, preset, **overrides)
    info = open_dataset(path)
    header, body = _card(path)
    assert header["license"] == "mit" and header["task_categories"]
    files = header["configs"][0]["data_files"]
    assert [f["split"] for f in files] == info.splits
    assert all(f["path"] == f"data/{f['split']}-*.parquet" for f in files)
    columns = pq.read_schema(info.files(info.splits[0])[0]).names
    assert [f["name"] for f in header["dataset_info"]["features"]] == columns

    loaded = _load_offline(path, tmp_path / "cache", monkeypatch)
    assert list(loaded) == info.splits
    for split in info.splits:
        assert loaded[split].num_rows == info.rows(split)
        frame = load_split(info, split)
        first = columns[0]  # program, or the inputs token lists
        assert loaded[split][first] == [_plain(v) for v in frame[first]]
        assert f"| `{split}` | {info.rows(split):,} |" in body
    assert fingerprint(info) in body
    assert ("- `globals.json`:" in body) == (path / "globals.json").exists()


def _plain(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value


def test_without_the_card_datasets_guesses(
    build_task_dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card is what ``datasets`` follows: without it, it guesses the splits from the
    file names and lists them alphabetically, not in the task's order."""
    path = build_task_dataset("lolameme", "mixed", **SMALL_LOLA)
    splits = open_dataset(path).splits
    assert splits != ["train", *sorted(splits[1:])]  # the mixed preset's order is not sorted
    (path / CARD).unlink()
    loaded = _load_offline(path, tmp_path / "cache", monkeypatch)
    assert list(loaded) == ["train", *sorted(splits[1:])]


def test_card_is_outside_the_fingerprint_and_deterministic(build_task_dataset) -> None:
    one = build_task_dataset("lolameme", "mixed", name="a", workers=1, **SMALL_LOLA)
    two = build_task_dataset("lolameme", "mixed", name="b", workers=2, **SMALL_LOLA)
    manifest = open_dataset(one).manifest
    assert CARD not in manifest["sha256"]
    for name, digest in manifest["sha256"].items():  # every checksum still holds
        assert sha256_file(one / name) == digest
    assert (one / CARD).read_text().replace("--out a", "--out b") == (two / CARD).read_text()
    before = fingerprint(open_dataset(one))
    (one / CARD).unlink()
    assert fingerprint(open_dataset(one)) == before


def test_changed_knobs_come_first_and_the_command_remakes_the_data(
    build_task_dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = build_task_dataset("lolameme", "mixed", **SMALL_LOLA)
    config = open_dataset(path).config()
    defaults = get_task("lolameme").config_cls().model_dump(mode="json")
    _, body = _card(path)
    rows = [line for line in body.splitlines() if line.startswith("| `") and "` | `" in line]
    keys = [row.split("`")[1] for row in rows]
    assert sorted(keys) == sorted(config)
    changed = {k for k in config if config[k] != defaults[k]}
    assert {"dataset_size", "globalvar_count", "language"} <= changed  # overrides and preset
    assert set(keys[: len(changed)]) == changed  # all of them before any default
    assert all("(changed)" in row for row in rows[: len(changed)])

    command = body.split("```bash\n", 1)[1].split("\n", 1)[0]
    args = shlex.split(command)
    assert args[:2] == ["lolameme", "generate"]
    args[args.index("--out") + 1] = str(tmp_path / "again")
    main([*args[1:], "--workers", "1"])
    capsys.readouterr()
    assert fingerprint(open_dataset(tmp_path / "again")) == fingerprint(open_dataset(path))
