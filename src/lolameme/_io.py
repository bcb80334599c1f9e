"""Atomic file and directory writes: a reader never sees a half-written output.

Everything the package writes (data sets, checkpoints, results, reports) goes
through these helpers: write to a temporary sibling, flush, then ``os.replace``.
:func:`check_output_dir` is the one rule for where an output may go: it refuses, before
any work starts, paths that cannot be written and directories lolameme did not write.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lolameme._proc import signals_deferred
from lolameme.errors import DataError, OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def default_mode(path: str | os.PathLike[str], *, directory: bool = False) -> None:
    """Give a mkstemp/mkdtemp result the permissions a plain open/mkdir would have.

    ``tempfile`` creates private (0600/0700) entries; outputs meant to be shared
    (data sets, results) should follow the user's umask instead.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either the old or the new content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        default_mode(tmp, directory=False)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    For writers that want a file name (``DataFrame.to_parquet``, ``savefig``,
    ``safetensors.save_file``). On failure the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Build a directory under a temporary name and rename it into place at the end.

    An interrupted build leaves only a hidden ``.NAME.partial-PID-*`` sibling, never a
    directory that looks complete; an exception (a SIGTERM included, see
    :mod:`lolameme._proc`) removes it, and after a SIGKILL the next build of ``path``
    removes it (:func:`remove_stale_partials`). An existing empty ``path`` is replaced; a
    non-empty one only with ``overwrite``, and only after the new one is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path)
    tmp: Path | None = None
    try:  # from the mkdtemp on: a SIGTERM that lands during set-up still removes it
        with signals_deferred():  # no SIGTERM between the mkdtemp and `tmp` naming it
            tmp = Path(
                tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.partial-{os.getpid()}-")
            )
        default_mode(tmp, directory=True)
        yield tmp
        if path.exists():
            if not overwrite and path.is_dir() and any(path.iterdir()):
                raise FileExistsError(path)
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            with signals_deferred():  # no SIGTERM/Ctrl-C between the two renames
                os.replace(path, old)
                os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# A hidden temporary sibling of atomic_directory: ``.NAME.partial-PID-*`` / ``.NAME.old-PID``.
_PARTIAL = re.compile(r"^\..+\.(partial|old)-\d+")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_partials(path: str | os.PathLike[str]) -> list[Path]:
    """Remove ``.NAME.partial-PID-*`` and ``.NAME.old-PID`` siblings of ``path`` left by
    a killed build: only this user's, and only when process PID no longer exists (a
    build still running elsewhere keeps its directory). An ``.old`` one whose ``path``
    is missing is put back instead. Returns what was removed or restored."""
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for prefix in (f".{path.name}.partial-", f".{path.name}.old-"):
        for entry in path.parent.glob(f"{glob_escape(prefix)}*"):
            pid_text = entry.name[len(prefix) :].split("-", 1)[0]
            if not pid_text.isdigit() or _alive(int(pid_text)):
                continue
            try:
                if uid is not None and entry.lstat().st_uid != uid:
                    continue
            except FileNotFoundError:
                continue
            if ".old-" in entry.name[len(path.name) :] and not path.exists():
                # killed between the two renames of a replacement: the old one is the
                # last complete version, so it goes back into place
                os.replace(entry, path)
            elif entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
            removed.append(entry)
    return removed


def glob_escape(text: str) -> str:
    """``text`` with glob metacharacters quoted, for ``Path.glob``."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _protected(path: Path) -> str | None:
    """Why ``path`` (resolved) must never be replaced or filled: a reason, or None."""
    cwd = Path.cwd().resolve()
    if path == cwd or path in cwd.parents:
        return "it is the current directory or one above it"
    home = Path.home().resolve()
    if path == home or path in home.parents:
        return "it is the home directory or one above it"
    return None


def nearest_existing(path: Path) -> Path:
    """``path`` itself, or the closest of its parents that exists."""
    while not path.exists():
        path = path.parent
    return path


def first_missing(path: Path) -> Path | None:
    """The topmost of ``path`` and its parents that does not exist yet (None: ``path``
    exists): what creating ``path`` creates, so what a call that fails may remove."""
    missing = None
    while not path.exists():
        missing, path = path, path.parent
    return missing


def check_output_dir(
    path: str | os.PathLike[str],
    *,
    is_ours: Callable[[Path], bool],
    what: str,
    overwrite: bool = False,
    flag: str = "--overwrite",
    replace: bool = True,
) -> Path:
    """Check, before any work, that ``path`` may receive a lolameme output; return it.

    - an empty path, ``.``, the current directory or one above it, and the home
      directory are refused (replacing one would delete the user's files);
    - a path under a file, a path that is a file, and a directory that cannot be
      created or written are refused with the reason (not a traceback at the end);
    - an existing non-empty directory is accepted only if ``is_ours(path)`` recognises
      it (by the manifest or marker lolameme writes), and then only with ``overwrite``;
      ``replace=False`` (experiment outputs, which resume in place) skips that flag.

    Every refusal is an :class:`~lolameme.errors.OutputError` naming the path.
    """
    if os.fspath(path).strip() == "":
        raise OutputError(f"the {what} path is empty; name a directory to create")
    given = Path(path)
    resolved = given.resolve()
    reason = _protected(resolved)
    if reason is not None:
        raise OutputError(f"refusing to write a {what} to {given}: {reason}; name a new directory")
    if resolved.exists() and not resolved.is_dir():
        raise OutputError(f"{given} exists and is not a directory")
    existing = nearest_existing(resolved)
    if not existing.is_dir():
        raise OutputError(f"cannot create {given}: {existing} is a file, not a directory")
    # Creating or replacing the directory renames into its parent: that must be writable
    # too; filling one in place (a resume) needs only the directory itself.
    needed_dirs = {existing}
    if replace and resolved.exists():
        needed_dirs.add(resolved.parent)
    for needed in needed_dirs:
        if not os.access(needed, os.W_OK | os.X_OK):
            raise OutputError(f"permission denied: cannot write {given} ({needed} is read-only)")
    if resolved.is_dir() and any(not _PARTIAL.match(p.name) for p in resolved.iterdir()):
        if not is_ours(resolved):
            raise OutputError(
                f"{given} exists and is not a lolameme {what} (lolameme only replaces "
                "directories it wrote); choose another --out"
            )
        if replace and not overwrite:
            raise OutputError(f"{given} already holds a {what}; pass {flag} to replace it")
    return resolved


# -- reading Parquet: a damaged file is one error naming it ----------------------------


def _damaged(path: Path, exc: BaseException) -> DataError:
    if isinstance(exc, PermissionError):
        return DataError(f"permission denied reading {path}")
    if isinstance(exc, FileNotFoundError):
        return DataError(f"missing file: {path}")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    first = first.replace(f"Could not open Parquet input source '{path}': ", "")
    return DataError(f"{path}: damaged or not a Parquet file ({first[:160]})")


def _check_columns(path: Path, schema: Any, required: tuple[str, ...]) -> None:
    missing = [name for name in required if name not in schema.names]
    if missing:
        raise DataError(
            f"{path}: wrong schema, no column(s) {', '.join(missing)} "
            f"(has: {', '.join(schema.names) or 'none'})"
        )


def parquet_table(
    path: str | os.PathLike[str], columns: list[str] | None = None, required: tuple[str, ...] = ()
) -> Any:
    """``pyarrow.parquet.read_table``, with a truncated, emptied or garbage file, or a
    missing ``required`` (or requested) column, reported as one :class:`DataError`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        parquet = pq.ParquetFile(path)
        _check_columns(path, parquet.schema_arrow, tuple(required) + tuple(columns or ()))
        return parquet.read(columns=columns)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _damaged(path, exc) from None


def parquet_frame(
    path: str | os.PathLike[str], columns: list[str] | None = None, required: tuple[str, ...] = ()
) -> Any:
    """:func:`parquet_table` as a pandas DataFrame."""
    return parquet_table(path, columns, required).to_pandas()


def parquet_batches(
    path: str | os.PathLike[str],
    columns: list[str] | None = None,
    batch_size: int = 65536,
    required: tuple[str, ...] = (),
) -> Iterator[Any]:
    """Stream a Parquet file's record batches; damage found midway is one DataError too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        parquet = pq.ParquetFile(path)
        _check_columns(path, parquet.schema_arrow, tuple(required) + tuple(columns or ()))
        yield from parquet.iter_batches(batch_size=batch_size, columns=columns)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _damaged(path, exc) from None


def parquet_schema(path: str | os.PathLike[str]) -> Any:
    """The Arrow schema of a Parquet file (its footer only), or one DataError."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        return pq.ParquetFile(path).schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _damaged(path, exc) from None
