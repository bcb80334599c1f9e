"""Same config and seed give the same bytes, whatever the worker count or start method;
an interrupted run leaves nothing that looks like a data set."""

from __future__ import annotations

from pathlib import Path

import pytest

from lolameme.data.generate import generate
from lolameme.data.store import MANIFEST, DatasetWriter, load_split, open_dataset, sha256_file
from lolameme.data.tasks.lolameme import generator
from lolameme.data.tasks.lolameme.config import LolamemeConfig

SIZES = {
    "DATASET_SIZE": 900,
    "TEST_DATASET_SIZE": 120,
    "GLOBALVAR_COUNT": 24,
    "GLOBAL_VARIABLES_NUM_APPEARANCE": 40,
    "SHARD_SIZE": 200,
}


@pytest.fixture
def pool_at_any_size(monkeypatch) -> None:
    """Small test sets would otherwise be drawn in one process whatever ``workers`` says."""
    monkeypatch.setattr(generator, "SERIAL_BELOW_ITEMS", 0)


def test_workers_1_and_2_write_identical_files(build, pool_at_any_size) -> None:
    one = build("mixed", workers=1, **SIZES)
    two = build("mixed", workers=2, **SIZES)
    assert len(one.manifest["splits"]["train"]["files"]) == 5  # really sharded
    assert one.manifest["sha256"] == two.manifest["sha256"]
    for rel, digest in two.manifest["sha256"].items():
        assert sha256_file(two.path / rel) == digest


def test_spawned_workers_write_the_same_shards_as_one_process(
    tmp_path: Path, pool_at_any_size
) -> None:
    config = LolamemeConfig.model_validate({**SIZES, "DATASET_SIZE": 400})
    digests = []
    for workers, method in ((1, None), (2, "spawn")):
        root = tmp_path / f"w{workers}"
        generator.build_lolameme(config, DatasetWriter(root), workers, method=method)
        digests.append({p.name: sha256_file(p) for p in sorted((root / "data").iterdir())})
    assert digests[0] == digests[1] and len(digests[0]) == 4


def test_small_sets_skip_the_pool_and_write_the_pools_bytes(tmp_path: Path, monkeypatch) -> None:
    """Below ``SERIAL_BELOW_ITEMS`` no pool starts, even with ``workers=2``; above it no
    more workers start than a stage has shards. The files are the same in every case."""
    config = LolamemeConfig.model_validate({**SIZES, "DATASET_SIZE": 400})
    pools: list[int] = []
    real_shard_map = generator.shard_map

    def recording(workers, *args, **kwargs):
        pools.append(workers)
        return real_shard_map(workers, *args, **kwargs)

    monkeypatch.setattr(generator, "shard_map", recording)
    digests = []
    for limit, workers in ((20_000, 2), (0, 8), (0, 1)):
        monkeypatch.setattr(generator, "SERIAL_BELOW_ITEMS", limit)
        root = tmp_path / f"{limit}-{workers}"
        generator.build_lolameme(config, DatasetWriter(root), workers)
        digests.append({p.name: sha256_file(p) for p in sorted((root / "data").iterdir())})
    assert pools == [1, 2, 1]  # 8 asked, but no stage has more than 2 shards
    assert digests[0] == digests[1] == digests[2] and len(digests[0]) == 4


def test_seed_changes_everything_and_repeats_exactly(tmp_path: Path) -> None:
    manifests = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        generate("lolameme", "tiny", {"DATASET_SIZE": 300}, tmp_path / name, seed=seed)
        manifests[name] = (tmp_path / name / MANIFEST).read_text()
    assert manifests["a"] == manifests["b"]
    a, c = (load_split(tmp_path / n, "train")["program"] for n in "ac")
    assert not set(a) & set(c)
    assert open_dataset(tmp_path / "a").globals() != open_dataset(tmp_path / "c").globals()


def test_interrupted_run_leaves_no_complete_looking_directory(tmp_path, monkeypatch) -> None:
    calls = {"n": 0}
    real_write = generator._Context.write

    def write_then_die(self, split, index, rows):
        real_write(self, split, index, rows)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(generator._Context, "write", write_then_die)
    out = tmp_path / "ds"
    with pytest.raises(KeyboardInterrupt):
        generate("lolameme", "tiny", {"DATASET_SIZE": 400, "SHARD_SIZE": 100}, out, workers=1)
    assert calls["n"] == 2
    assert not out.exists()
    assert not list(tmp_path.rglob(MANIFEST))
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_only_after_success(tmp_path) -> None:
    out = tmp_path / "ds"
    generate("lolameme", "tiny", {"DATASET_SIZE": 300, "SEED": 1}, out, workers=1)
    first = (out / MANIFEST).read_text()
    generate("lolameme", "tiny", {"DATASET_SIZE": 300, "SEED": 2}, out, workers=1, overwrite=True)
    assert (out / MANIFEST).read_text() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
