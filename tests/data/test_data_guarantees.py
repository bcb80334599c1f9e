"""The split guarantees of issue #3, each checked from the files on disk."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from lolameme.data.generate import generate
from lolameme.data.tasks.lolameme import generator
from lolameme.data.tasks.lolameme.verify import verify_dataset
from lolameme.errors import ConfigError

CONFIGS = {
    "base": ("base", {}),
    "noise": ("base", {"NOISE_SHARE": 0.4}),
    "mixed": ("mixed", {}),
    "faker": ("base", {"USE_FAKER": True, "LANGUAGE": "meme"}),
}


@pytest.fixture(params=list(CONFIGS), scope="module")
def ds(request, build):
    preset, overrides = CONFIGS[request.param]
    return build(preset, **overrides)


def test_every_label_is_the_interpreters_output(ds) -> None:
    for split, frame in ds.splits.items():
        for program, label in zip(ds.programs(split), frame["label"], strict=True):
            assert ds.label_of(program) == label, split


def test_train_globals_keep_their_value_and_appear_often_enough(ds, helpers) -> None:
    counts: Counter[str] = Counter()
    assigned = 0
    for program in ds.programs("train"):
        counts.update({n: c for n, c in helpers.names_in(program).items() if n in ds.globals})
        for st in program.statements:
            if st.target in ds.globals:
                assigned += 1
                assert st.value == type(st.value)(ds.globals[st.target])  # its own literal
    need = ds.config.global_variables_num_appearance
    assert min(counts[g] for g in ds.globals) >= need
    assert assigned > 0  # the rule was exercised, not vacuous


def test_impossible_appearance_count_fails_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    overrides = {"DATASET_SIZE": 100, "GLOBALVAR_COUNT": 500}  # 500 x 1000 uses, 15 per item
    with pytest.raises(ConfigError) as err:
        generate("lolameme", "base", overrides, out)
    message = str(err.value)
    for number in ("500000", "DATASET_SIZE=100", "at most 15", "DATASET_SIZE >= 33334"):
        assert number in message
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_test_with_global_reads_globals_and_never_assigns_them(ds, helpers) -> None:
    splits = [s for s in ds.splits if s != "train" and "without" not in s]
    assert splits
    for split in splits:
        for program in ds.programs(split):
            assert not [st.target for st in program.statements if st.target in ds.globals]
            assert set(helpers.names_in(program)) & set(ds.globals)
        assert (ds.splits[split]["slice_globals"] >= 1).all()


def test_test_without_global_never_mentions_a_global(ds, helpers) -> None:
    splits = [s for s in ds.splits if "without" in s]
    assert splits
    for split in splits:
        for program in ds.programs(split):
            assert not set(helpers.names_in(program)) & set(ds.globals)


def test_items_are_unique_and_no_test_program_is_in_train(ds, helpers) -> None:
    train = {helpers.canonical(t) for t in ds.splits["train"]["program"]}
    assert len(train) == len(ds.splits["train"])
    for split, frame in ds.splits.items():
        texts = {helpers.canonical(t) for t in frame["program"]}
        assert len(texts) == len(frame), split
        if split != "train":
            assert not texts & train, split


def test_metadata_matches_an_independent_reading(ds) -> None:
    reports = verify_dataset(ds.path)
    assert {s: r.problems for s, r in reports.items()} == {s: [] for s in ds.splits}


def test_verify_catches_a_wrong_label_and_a_leak(build, tmp_path: Path) -> None:
    ds = build("base")
    bad = tmp_path / "bad"
    bad.mkdir()
    for item in ds.path.iterdir():
        target = bad / item.name
        if item.is_dir():
            target.mkdir()
            for f in item.iterdir():
                (target / f.name).write_bytes(f.read_bytes())
        else:
            target.write_bytes(item.read_bytes())
    shard = bad / ds.manifest["splits"]["test_without_global"]["files"][0]
    frame = pd.read_parquet(shard)
    frame.loc[0, "label"] = str(int(frame.loc[0, "label"]) + 1)
    frame.loc[1, "program"] = ds.splits["train"]["program"][0]
    frame.to_parquet(shard)
    problems = verify_dataset(bad)["test_without_global"].problems
    assert any("row 0: label" in p for p in problems)
    assert any("also occur in train" in p for p in problems)


def test_controlled_noise_is_exact(build) -> None:
    ds = build("base", NOISE_SHARE=0.4, STATEMENT_COUNT=5)
    for frame in ds.splits.values():
        assert (frame["noise_statements"] == 2).all()


def test_cross_shard_duplicates_are_redrawn_identically_for_any_worker_count(
    build, monkeypatch
) -> None:
    # A small program space and tiny shards: independent shards collide often.
    overrides = {
        "GLOBALVAR_COUNT": 0,
        "TEST_SPLITS": ["test_without_global"],
        "STATEMENT_COUNT": 2,
        "EXPRESSION_MAX_DEPTH": 1,
        "LOCAL_VAR_COUNT": 2,
        "MAX_INT_VALUE": 6,
        "DATASET_SIZE": 300,
        "TEST_DATASET_SIZE": 40,
        "SHARD_SIZE": 40,
    }
    monkeypatch.setattr(generator, "SERIAL_BELOW_ITEMS", 0)  # a real pool at this size
    one = build("base", workers=1, **overrides)
    two = build("base", workers=2, **overrides)
    assert one.manifest["cross_shard_redraws"]["train"] > 0
    assert one.manifest["sha256"] == two.manifest["sha256"]
    frame = one.splits["train"]
    assert frame["program"].is_unique
    assert verify_dataset(one.path)["train"].problems == []


def test_files_load_with_pandas_pyarrow_and_datasets(build, tmp_path: Path, monkeypatch) -> None:
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    ds = build("base")
    loaded = datasets.load_dataset(str(ds.path))
    assert set(loaded) == set(ds.splits)
    for split, frame in ds.splits.items():
        assert loaded[split]["program"] == list(frame["program"])
        assert loaded[split]["label"] == list(frame["label"])
    first = ds.path / ds.manifest["splits"]["train"]["files"][0]
    assert pq.read_table(first).num_rows == pd.read_parquet(first).shape[0]
    assert json.loads((ds.path / "globals.json").read_text()) == ds.globals


def test_stats_and_verify_on_other_tasks(tmp_path: Path) -> None:
    import pyarrow as pa

    from lolameme.data.stats import dataset_stats
    from lolameme.data.store import DatasetWriter
    from lolameme.errors import DataError

    writer = DatasetWriter(tmp_path)
    table = pa.table({"inputs": [[1, 2, 3]], "targets": [[-100, 2, 3]]})
    writer.write_shard("train", 0, table)
    writer.finish(task="mqar", format="tokens", config={}, seed=0)
    assert dataset_stats(tmp_path)["splits"] == {"train": {"rows": 1}}
    with pytest.raises(DataError, match="not 'mqar'"):
        verify_dataset(tmp_path)
