"""The data-set layout: shard order, manifest, checksums and clear errors."""

from pathlib import Path

import pandas as pd
import pytest

from lolameme._io import atomic_directory
from lolameme.data.store import DatasetWriter, load_split, open_dataset, sha256_file
from lolameme.errors import DataError


def _build(path: Path) -> None:
    with atomic_directory(path) as tmp:
        writer = DatasetWriter(tmp)
        writer.write_shard("train", 1, pd.DataFrame({"program": ["b"], "label": ["2"]}))
        writer.write_shard("train", 0, pd.DataFrame({"program": ["a"], "label": ["1"]}))
        writer.write_shard("test", 0, pd.DataFrame({"program": ["c"], "label": ["3"]}))
        writer.finish(
            task="lolameme",
            format="text",
            config={"k": 1},
            seed=7,
            globals={"aB": 3},
            split_order=["train", "test"],
        )


def test_shards_are_read_in_index_order(tmp_path: Path) -> None:
    _build(tmp_path / "ds")
    info = open_dataset(tmp_path / "ds")
    assert info.splits == ["train", "test"]  # declared order, not alphabetical
    assert info.rows("train") == 2
    assert list(load_split(info, "train")["program"]) == ["a", "b"]
    assert info.globals() == {"aB": 3}
    for rel, digest in info.manifest["sha256"].items():
        assert sha256_file(info.path / rel) == digest


def test_missing_dir_and_split_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        open_dataset(tmp_path / "nope")
    _build(tmp_path / "ds")
    with pytest.raises(DataError, match="no split 'dev'.*available"):
        load_split(tmp_path / "ds", "dev")


def _columns_and_schema():
    import pyarrow as pa

    schema = pa.schema(
        [
            ("program", pa.string()),
            ("n", pa.int32()),
            ("names", pa.list_(pa.string())),
            ("score", pa.float64()),  # not assembled from buffers: pyarrow.array
        ]
    )
    columns = [
        ["a = 1;print(a)", "", "naïve = 2", "é" * 3],
        [0, -5, 2**31 - 1, 7],
        [["x", "yy"], [], ["über"], ["", "z"]],
        [0.5, 1.0, -2.0, 3.25],
    ]
    return columns, schema


def test_arrow_table_equals_pyarrows_own_conversion() -> None:
    import pyarrow as pa

    from lolameme.data.store import arrow_table

    columns, schema = _columns_and_schema()
    table = arrow_table(columns, schema)
    table.validate(full=True)
    expected = pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )
    assert table.equals(expected)
    assert arrow_table([[] for _ in schema], schema).num_rows == 0


def test_arrow_table_does_not_import_pandas() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pyarrow as pa\n"
        "from lolameme.data.store import arrow_table\n"
        "schema = pa.schema([('p', pa.string()), ('n', pa.int32()),"
        " ('g', pa.list_(pa.string()))])\n"
        "arrow_table([['a', 'b'], [1, 2], [['x'], []]], schema)\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_workers_writer_never_recreates_a_removed_output(tmp_path: Path) -> None:
    """Pool workers build their writer with ``create=False``: one that starts after an
    interrupt removed the partial output must not bring the directory back."""
    gone = tmp_path / ".out.partial-1-x"
    writer = DatasetWriter(gone, create=False)
    assert not gone.exists()
    with pytest.raises(OSError):
        writer.write_shard("train", 0, pd.DataFrame({"a": [1]}))
    assert not gone.exists()
