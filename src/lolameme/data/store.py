"""The on-disk layout of every data set (LoLa/MeMe, ListOps, MQAR) and its read API.

A data set is a directory::

    DIR/manifest.json            task, format, splits with row counts and files, sha256s
    DIR/config.json              the resolved generator config
    DIR/globals.json             {name: value} in LoLa spelling (LoLa/MeMe tasks only)
    DIR/data/SPLIT-00000-of-00002.parquet, ...   numbered shards per split

The shard names follow the Hugging Face convention, so ``datasets.load_dataset(DIR)``
and ``pandas.read_parquet`` read it as it is. Two row formats exist:

- ``text``: columns ``program`` and ``label`` (both strings) plus metadata columns;
  the model reads the program and must produce the label (exact match).
- ``tokens``: columns ``inputs`` and ``targets`` (lists of ints of equal length,
  ``-100`` where no label), for per-position tasks such as MQAR.

Directories are built by :class:`DatasetWriter` under a temporary name and renamed
into place only when complete (see :func:`lolameme._io.atomic_directory`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lolameme import __version__
from lolameme._io import atomic_write_json, parquet_batches, parquet_table
from lolameme.errors import DataError

MANIFEST = "manifest.json"
CONFIG = "config.json"
GLOBALS = "globals.json"
DATA_DIR = "data"
IGNORE_INDEX = -100
FORMATS = ("text", "tokens")
# Columns every shard of a format must have (a shard without them is damaged).
REQUIRED_COLUMNS = {"text": ("program", "label"), "tokens": ("inputs", "targets")}

_PENDING = re.compile(r"^(?P<split>[A-Za-z0-9_]+)\.(?P<index>\d{5})\.parquet$")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class DatasetInfo:
    """A data set directory whose manifest has been read and checked."""

    path: Path
    manifest: dict[str, Any]

    @property
    def task(self) -> str:
        return str(self.manifest["task"])

    @property
    def format(self) -> str:
        return str(self.manifest["format"])

    @property
    def splits(self) -> list[str]:
        """Split names in the order the task declared (the JSON object itself is sorted)."""
        return list(self.manifest.get("split_order") or self.manifest["splits"])

    def rows(self, split: str) -> int:
        return int(self._split(split)["rows"])

    def files(self, split: str) -> list[Path]:
        return [self.path / name for name in self._split(split)["files"]]

    def config(self) -> dict[str, Any]:
        return _read_json(self.path / CONFIG)

    def globals(self) -> dict[str, int]:
        """The global variables ``{lola_name: value}``; empty for tasks without globals."""
        path = self.path / GLOBALS
        if not path.exists():
            return {}
        table = _read_json(path)
        if not isinstance(table, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in table.values()
        ):
            raise DataError(f"{path}: damaged, not an object of integers {{name: value}}")
        return dict(table)

    def _split(self, split: str) -> dict[str, Any]:
        try:
            return self.manifest["splits"][split]
        except KeyError:
            raise DataError(
                f"{self.path}: no split '{split}' (available: {', '.join(self.splits)})"
            ) from None


def fingerprint(info: DatasetInfo) -> str:
    """A hash of the manifest's checksums (data, config and globals files): equal iff the
    same rows were generated. Runs record it; files outside the checksums (the
    ``README.md`` card) do not change it."""
    basis = info.manifest.get("sha256") or info.manifest
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"missing file: {path}") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not valid JSON (not UTF-8 text)") from None


def is_dataset(path: str | Path) -> bool:
    """Whether ``path`` is a directory lolameme wrote as a data set (its manifest says so).

    The test :func:`lolameme._io.check_output_dir` applies before ``--overwrite`` may
    replace a directory: a user's folder that merely holds files never passes it.
    """
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and {"task", "format", "splits"} <= manifest.keys()


def checksum_problems(info: DatasetInfo) -> dict[str, list[str]]:
    """Files whose sha256 differs from the manifest's, keyed by split (``""`` for the
    files outside the splits: config, globals). A shard replaced by another valid one,
    or truncated, is found here even when it still reads."""
    recorded = info.manifest.get("sha256") or {}
    owner = {name: split for split in info.splits for name in info._split(split)["files"]}
    found: dict[str, list[str]] = {}
    for name, digest in sorted(recorded.items()):
        path = info.path / name
        if not path.is_file():
            problem = f"{name}: missing (listed in {MANIFEST})"
        elif sha256_file(path) != digest:
            problem = f"{name}: sha256 differs from {MANIFEST} (changed or replaced)"
        else:
            continue
        found.setdefault(owner.get(name, ""), []).append(problem)
    return found


def open_dataset(path: str | Path) -> DatasetInfo:
    """Open a data set directory, with one clear error if it is missing or incomplete."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"data directory not found: {path} (create one with 'lolameme generate')")
    if not (path / MANIFEST).exists():
        raise DataError(f"{path} is not a lolameme data set: no {MANIFEST}")
    manifest = _read_json(path / MANIFEST)
    if not isinstance(manifest, dict):
        raise DataError(f"{path / MANIFEST}: damaged, not a JSON object")
    problem = _manifest_problem(manifest)
    if problem:
        raise DataError(f"{path / MANIFEST}: {problem}")
    info = DatasetInfo(path=path, manifest=manifest)
    for split in info.splits:
        for file in info.files(split):
            if not file.exists():
                raise DataError(f"{path}: split '{split}' is missing its shard {file.name}")
    return info


def _manifest_problem(manifest: dict[str, Any]) -> str | None:
    """What makes a manifest unusable, if anything: every field the readers use, checked
    for its type once here, so a hand-edited or damaged manifest is one error line."""
    for key in ("task", "format", "splits"):
        if key not in manifest:
            return f"missing key '{key}'"
    for key in ("task", "format"):
        if not isinstance(manifest[key], str):
            return f"'{key}' must be a string, got {manifest[key]!r}"
    splits = manifest["splits"]
    if not isinstance(splits, dict) or not splits:
        return "damaged 'splits' (an object of splits, each with 'rows' and 'files')"
    for name, split in splits.items():
        if not isinstance(split, dict) or "rows" not in split or "files" not in split:
            return f"damaged split '{name}' (each needs 'rows' and 'files')"
        rows, files = split["rows"], split["files"]
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
            return f"split '{name}': 'rows' must be a count, got {rows!r}"
        if not isinstance(files, list) or not all(_is_member_name(f) for f in files):
            return f"split '{name}': 'files' must list file names inside the data set"
    order = manifest.get("split_order")
    if order is not None and (
        not isinstance(order, list) or sorted(map(str, order)) != sorted(splits)
    ):
        return "'split_order' must list the splits of 'splits'"
    checksums = manifest.get("sha256", {})
    if not isinstance(checksums, dict) or not all(
        _is_member_name(k) and isinstance(v, str) and len(v) == 64 for k, v in checksums.items()
    ):
        return "'sha256' must map file names inside the data set to 64-digit hex digests"
    pool = manifest.get("locals", [])
    if not isinstance(pool, list) or not all(isinstance(n, str) for n in pool):
        return "'locals' must be a list of names"
    return None


def _is_member_name(name: object) -> bool:
    """A relative path that stays inside the data set directory."""
    if not isinstance(name, str) or not name:
        return False
    parts = Path(name).parts
    return not Path(name).is_absolute() and ".." not in parts


def load_split(
    dataset: str | Path | DatasetInfo, split: str, columns: list[str] | None = None
) -> Any:
    """Read one split into a pandas DataFrame, shards in order."""
    info = dataset if isinstance(dataset, DatasetInfo) else open_dataset(dataset)
    required = () if columns else REQUIRED_COLUMNS.get(info.format, ())
    tables = [parquet_table(f, columns, required) for f in info.files(split)]
    if not tables:
        raise DataError(f"{info.path}: split '{split}' has no shards")
    import pyarrow as pa

    return pa.concat_tables(tables).to_pandas()


def iter_split(
    dataset: str | Path | DatasetInfo,
    split: str,
    columns: list[str] | None = None,
    batch_size: int = 65536,
) -> Iterator[Any]:
    """Stream a split as pandas DataFrames of at most ``batch_size`` rows (flat memory)."""
    info = dataset if isinstance(dataset, DatasetInfo) else open_dataset(dataset)
    required = () if columns else REQUIRED_COLUMNS.get(info.format, ())
    for file in info.files(split):
        for batch in parquet_batches(file, columns, batch_size, required):
            yield batch.to_pandas()


def arrow_table(columns: list[Any], schema: Any) -> Any:
    """A pyarrow Table of Python lists (string, int32 and list<string> columns).

    The arrays are assembled from their buffers. ``pyarrow.array`` would give the same
    table, but its first call in a process imports pandas only to ask whether the list
    is a pandas object: 0.4 s in every generator worker, about a tenth of its run. Other
    column types, and text too long for 32-bit offsets, go through ``pyarrow.array``.
    """
    import numpy as np
    import pyarrow as pa

    def offsets(lengths: Any, n: int) -> Any:
        ends = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.fromiter(lengths, dtype=np.int64, count=n), out=ends[1:])
        return ends if ends[-1] >= 2**31 else ends.astype(np.int32)

    def build(values: Any, kind: Any) -> Any:
        n = len(values)
        if kind == pa.string():
            text = "".join(values)
            if text.isascii():
                data, ends = text.encode(), offsets(map(len, values), n)
            else:
                encoded = [value.encode() for value in values]
                data, ends = b"".join(encoded), offsets(map(len, encoded), n)
            if ends.dtype == np.int32:
                buffers = [None, pa.py_buffer(ends), pa.py_buffer(data)]
                return pa.Array.from_buffers(kind, n, buffers)
        elif kind == pa.int32():
            ints = np.fromiter(values, dtype=np.int32, count=n)
            return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(ints)])
        elif kind == pa.list_(pa.string()):
            ends = offsets(map(len, values), n)
            if ends.dtype == np.int32:
                flat = build([item for value in values for item in value], pa.string())
                return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(ends)], children=[flat])
        return pa.array(values, type=kind)

    arrays = [build(values, field.type) for values, field in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


class DatasetWriter:
    """Collects shards in a (temporary) directory, then writes the manifest.

    Shards may be written by other processes: ask :meth:`shard_path` for the file
    of shard ``index`` of ``split`` and write a Parquet file there. :meth:`finish`
    gives the shards their final ``SPLIT-i-of-n`` names in index order, so the
    result does not depend on which worker finished first.
    """

    def __init__(self, root: str | Path, *, create: bool = True) -> None:
        """``create=False`` (pool workers) only writes into a directory made by the
        parent's writer: a worker that starts late must not re-create an output
        directory that an interrupt has already removed."""
        self.root = Path(root)
        if create:
            (self.root / DATA_DIR).mkdir(parents=True, exist_ok=True)

    def shard_path(self, split: str, index: int) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_]+", split):
            raise ValueError(f"bad split name {split!r}")
        return self.root / DATA_DIR / f"{split}.{index:05d}.parquet"

    def write_shard(self, split: str, index: int, frame: Any) -> Path:
        """Write a pandas DataFrame or pyarrow Table as shard ``index`` of ``split``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = (
            frame
            if isinstance(frame, pa.Table)
            else pa.Table.from_pandas(frame, preserve_index=False)
        )
        path = self.shard_path(split, index)
        pq.write_table(table, path, compression="zstd")
        return path

    def finish(
        self,
        *,
        task: str,
        format: str,
        config: dict[str, Any],
        seed: int | None,
        globals: dict[str, int] | None = None,
        split_order: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Rename shards, write config/globals, checksum everything, write the manifest."""
        import pyarrow.parquet as pq

        if format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, not {format!r}")
        pending: dict[str, list[tuple[int, Path]]] = {}
        for file in sorted((self.root / DATA_DIR).iterdir()):
            match = _PENDING.match(file.name)
            if match:
                pending.setdefault(match["split"], []).append((int(match["index"]), file))
        order = split_order or sorted(pending)
        missing = [s for s in order if s not in pending]
        if missing:
            raise DataError(f"no shards were written for split(s): {', '.join(missing)}")
        atomic_write_json(self.root / CONFIG, config)
        if globals is not None:
            atomic_write_json(self.root / GLOBALS, globals)
        splits: dict[str, Any] = {}
        checksums: dict[str, str] = {}
        for split in order:
            shards = sorted(pending[split])
            names, rows = [], 0
            for i, (_, file) in enumerate(shards):
                final = file.with_name(f"{split}-{i:05d}-of-{len(shards):05d}.parquet")
                file.rename(final)
                rel = f"{DATA_DIR}/{final.name}"
                names.append(rel)
                rows += pq.ParquetFile(final).metadata.num_rows
                checksums[rel] = sha256_file(final)
            splits[split] = {"rows": rows, "files": names}
        for name in (CONFIG, GLOBALS):
            if (self.root / name).exists():
                checksums[name] = sha256_file(self.root / name)
        manifest = {
            "task": task,
            "format": format,
            "seed": seed,
            "lolameme_version": __version__,
            "splits": splits,
            "split_order": order,
            "sha256": checksums,
            **(extra or {}),
        }
        atomic_write_json(self.root / MANIFEST, manifest)
        return manifest
