"""The bookkeeping that makes a grid resumable: cell records and ``results.parquet``.

Each cell writes ``DIR/cells/CELL_ID.json`` itself (its config when it starts, its row
when it ends), so a finished cell is known even if the driver died before updating
``results.parquet``. The driver rewrites ``results.parquet`` atomically after each cell,
under a file lock, replacing the row of a cell that ran again. A cell is *done* when its
record says ``ok`` with the fingerprint of the cell as the spec defines it now.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lolameme._io import atomic_path
from lolameme.errors import OutputError
from lolameme.experiments.cell import is_finished, read_record
from lolameme.experiments.grid import Cell
from lolameme.reporting.results import read_results_file
from lolameme.runs.layout import BASE_COLUMNS, LOCK_FILE, RESULTS_FILE

try:  # POSIX; elsewhere two drivers on one directory are simply not guarded
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


class ResultsStore:
    """Cell records and the results table of one output directory."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)

    def record(self, cell_id: str) -> dict[str, Any] | None:
        return read_record(self.out, cell_id)

    def is_done(self, cell: Cell) -> bool:
        return is_finished(self.record(cell.cell_id), cell.fingerprint)

    def stale(self, cells: list[Cell]) -> list[Cell]:
        """Cells whose directory holds a run made with other settings than the spec's now."""
        out = []
        for cell in cells:
            rec = self.record(cell.cell_id)
            if rec is not None and rec.get("fingerprint") != cell.fingerprint:
                out.append(cell)
        return out

    def reconcile(self, cells: list[Cell]) -> int:
        """Copy rows of finished cells missing from ``results.parquet`` into it."""
        present = set()
        if (self.out / RESULTS_FILE).is_file():
            results = read_results_file(self.out / RESULTS_FILE, columns=["cell_id"])
            present = set(results["cell_id"])
        rows = []
        for cell in cells:
            rec = self.record(cell.cell_id)
            if cell.cell_id not in present and self.is_done(cell) and rec is not None:
                rows.append(rec)
        if rows:
            self.upsert(rows)
        return len(rows)

    def upsert(self, rows: list[dict[str, Any]]) -> None:
        """Add ``rows`` to ``results.parquet``, replacing rows with the same ``cell_id``."""
        import pandas as pd

        with self.locked():
            path = self.out / RESULTS_FILE
            old = read_results_file(path) if path.is_file() else pd.DataFrame()
            new = pd.DataFrame(rows)
            if len(old):
                old = old[~old["cell_id"].isin(new["cell_id"])]
            frame = pd.concat([old, new], ignore_index=True) if len(old) else new
            frame = _tidy(frame)
            try:
                with atomic_path(path) as tmp:
                    frame.to_parquet(tmp, index=False)
            except OSError as exc:  # its message would name the temporary file
                raise OutputError(
                    f"cannot write {path}: {exc.strerror or type(exc).__name__}"
                ) from None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive access to the directory's shared files (two drivers may share it)."""
        lock = self.out / LOCK_FILE
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a") as fh:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(fh, fcntl.LOCK_UN)


def _tidy(frame: Any) -> Any:
    """Base columns first; an object column mixing types (two experiments' axes sharing a
    name) becomes strings, which Parquet can store."""
    for name in frame.columns:
        if frame[name].dtype == object:
            kinds = {type(v) for v in frame[name] if v is not None and v == v}
            if len(kinds) > 1:
                frame[name] = frame[name].map(lambda v: None if v is None else str(v))
    first = [c for c in BASE_COLUMNS if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]
