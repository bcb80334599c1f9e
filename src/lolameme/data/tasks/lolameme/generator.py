"""Build a LoLa/MeMe data set: splits cut into shards, drawn in parallel, deduplicated.

Determinism whatever ``--workers`` is:

- a split of ``S`` items is cut into shards of ``SHARD_SIZE`` items; shard ``k`` draws
  from its own ``random.Random(f"{seed}:{split}:{k}")`` and writes its own Parquet file,
  so which process runs it does not matter;
- the training schedule of globals is indexed by item (not by shard or process), see
  :class:`GlobalSchedule`;
- test splits are drawn first; their canonical hashes are handed to every training
  shard, which redraws any item whose program occurs in a test split;
- within a shard duplicates are redrawn on the spot. Duplicates *across* shards are
  found afterwards, in the parent, from the shards' hashes in split order: the first
  occurrence stays, every later one is redrawn from
  ``random.Random(f"{seed}:{split}:redraw:{item}")`` and its shard rewritten. Both steps
  depend only on the data, so the files are byte-identical for any worker count.

A program's identity is its LoLa text: a MeMe or mixed item counts as a duplicate (or a
test leak) when its LoLa rendering matches another item's.
"""

from __future__ import annotations

import array
import gc
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lolameme.data.pool import OrderedMap, shard_count, shard_map
from lolameme.data.store import DatasetWriter, arrow_table
from lolameme.data.tasks.lolameme.compiled import sampler_module
from lolameme.data.tasks.lolameme.config import LolamemeConfig, global_schedule
from lolameme.data.tasks.lolameme.names import NameTables, draw_names
from lolameme.data.tasks.lolameme.sampler import COLUMNS
from lolameme.errors import DataError

MAX_ATTEMPTS = 1000  # redraws allowed for one item before the config is declared too small
SERIAL_BELOW_ITEMS = 20_000
"""Data sets of fewer items (all splits) are drawn in this process whatever ``workers``
says: a pool costs about 0.2 s of CPU per worker before its first item (a fork, then
pyarrow and numpy imported in every worker), more than sharing out ~15 us per item
saves. Measured (docs/performance.md, "Start-up cost"): the ``tiny`` preset's
generation fell from 1.29 to 0.87 CPU s with this threshold. The files are the same
either way (module docstring)."""


def arrow_schema() -> Any:
    import pyarrow as pa

    i32 = pa.int32()
    types = {
        "program": pa.string(),
        "label": pa.string(),
        "language": pa.string(),
        "global_names": pa.list_(pa.string()),
    }
    return pa.schema([(name, types.get(name, i32)) for name in COLUMNS])


class GlobalSchedule:
    """The globals each training item must mention: item ``i`` takes positions
    ``[i*q, (i+1)*q)`` of an endless sequence of shuffled copies of all globals
    (copy ``c`` shuffled by ``random.Random(f"{seed}:schedule:{c}")``)."""

    def __init__(self, globals_: Sequence[str], per_item: int, seed: int) -> None:
        self.globals = list(globals_)
        self.per_item = per_item
        self.seed = seed
        self._cache: dict[int, list[str]] = {}

    def _copy(self, c: int) -> list[str]:
        perm = self._cache.get(c)
        if perm is None:
            if len(self._cache) > 4:
                self._cache.clear()
            # Sorting by random keys is a uniform permutation, and 3x faster than shuffle.
            key = random.Random(f"{self.seed}:schedule:{c}").random
            perm = sorted(self.globals, key=lambda _: key())
            self._cache[c] = perm
        return perm

    def take(self, start: int, stop: int) -> list[list[str]]:
        """The globals of items ``start .. stop - 1``, one list per item (a whole shard at
        once: per item this was a tenth of the drawing time)."""
        q, g = self.per_item, len(self.globals)
        first, last = start * q, stop * q
        if first == last:
            return []
        c0 = first // g
        positions = [name for c in range(c0, (last - 1) // g + 1) for name in self._copy(c)]
        offset = first - c0 * g
        return [positions[p : p + q] for p in range(offset, offset + last - first, q)]


@dataclass(frozen=True)
class ShardJob:
    split: str
    index: int
    start: int
    stop: int


class _Context:
    """What every worker needs, rebuilt once per process."""

    def __init__(self, config: LolamemeConfig, names: NameTables, root: Path) -> None:
        self.config = config
        self.names = names
        self.writer = DatasetWriter(root, create=False)  # the parent's writer made it
        self.impl = sampler_module()  # compiled or pure: the same items either way
        self.sampler = self.impl.ItemSampler(config, names)
        self.schedule = GlobalSchedule(list(names.globals), global_schedule(config), config.seed)
        self.policies: dict[str, Any] = {}

    def policy(self, split: str) -> Any:
        """The split's :class:`~lolameme.data.tasks.lolameme.sampler.SplitPolicy` (of ``impl``)."""
        if split not in self.policies:
            self.policies[split] = self.impl.SplitPolicy.for_split(self.config, split)
        return self.policies[split]

    def mandatory(self, split: str, start: int, stop: int) -> list[list[str]]:
        """The globals that items ``start .. stop - 1`` of ``split`` must mention."""
        if split == "train" and self.schedule.per_item:
            return self.schedule.take(start, stop)
        return [[]] * (stop - start)

    def draw_unique(
        self,
        rng: random.Random,
        split: str,
        item: int,
        taken: Any,
        exclude: frozenset[int],
        mandatory: list[str],
    ) -> tuple[int, tuple]:
        """Draw item ``item`` of ``split`` until it is new (``taken``) and not excluded."""
        policy = self.policy(split)
        invalid = 0
        for _ in range(MAX_ATTEMPTS):
            drawn = self.sampler.draw(rng, policy, mandatory)
            if drawn is None:
                invalid += 1
            elif drawn[0] not in taken and drawn[0] not in exclude:
                return drawn
        if invalid > MAX_ATTEMPTS // 2:
            reasons = self.sampler.rejected.most_common(3)
            why = (
                f"{invalid} draws broke the split's rules (so far in this shard: "
                + ", ".join(f"{reason} x{count}" for reason, count in reasons)
                + ")"
            )
        else:
            why = (
                f"{MAX_ATTEMPTS - invalid} draws repeated an earlier item: this config has "
                "too few distinct programs for the requested size (raise STATEMENT_COUNT, "
                "the depth, the int range or the name counts, or lower the split size)"
            )
        raise DataError(f"split '{split}': no new valid item at item {item}; {why}")

    def write(self, split: str, index: int, rows: list[tuple]) -> None:
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in COLUMNS]
        self.writer.write_shard(split, index, arrow_table(columns, arrow_schema()))


_WORKER: dict[str, _Context] = {}


def _init_worker(config: dict[str, Any], names: NameTables, root: str) -> None:
    _WORKER["ctx"] = _Context(LolamemeConfig.model_validate(config), names, Path(root))


def _run_shard(args: tuple[ShardJob, frozenset[int]]) -> tuple[ShardJob, bytes]:
    """Draw and write one shard; return the canonical hashes of its rows, in order
    (as uint64 bytes, via the stdlib ``array`` so that workers need not import numpy)."""
    job, exclude = args
    ctx = _WORKER["ctx"]
    rng = random.Random(f"{ctx.config.seed}:{job.split}:{job.index}")
    seen: set[int] = set()
    rows: list[tuple] = []
    hashes: list[int] = []
    # The rows of a shard are many small acyclic objects that stay alive until they are
    # written: the cyclic garbage collector would re-scan them again and again (it cost
    # about a third of the drawing time, and a sixth of the writing), and finds nothing
    # to free.
    collecting = gc.isenabled()
    gc.disable()
    try:
        schedule = ctx.mandatory(job.split, job.start, job.stop)
        for item, mandatory in zip(range(job.start, job.stop), schedule, strict=True):
            key, row = ctx.draw_unique(rng, job.split, item, seen, exclude, mandatory)
            seen.add(key)
            hashes.append(key)
            rows.append(row)
        ctx.write(job.split, job.index, rows)
        del rows  # freed now by reference counting, not scanned when the collector restarts
    finally:
        if collecting:
            gc.enable()
    packed = array.array("Q", hashes)
    if sys.byteorder != "little":  # numpy reads them back as little-endian uint64
        packed.byteswap()
    return job, packed.tobytes()


def _jobs(split: str, size: int, shard_size: int) -> list[ShardJob]:
    return [
        ShardJob(split, k, start, min(start + shard_size, size))
        for k, start in enumerate(range(0, size, shard_size))
    ]


def later_copies(hashes: Any, chunk: int = 1 << 20) -> tuple[Any, Any]:
    """Positions of every occurrence of a hash after its first (ascending), and the
    hashes sorted.

    Memory is one sorted copy (8 bytes per item) plus ``chunk``-sized scratch, so the
    parent of a 40M-item run stays well under 2 GB: an argsort would add 8 more bytes
    per item.
    """
    import numpy as np

    ordered = np.sort(hashes)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if repeated.size == 0:
        return np.empty(0, dtype=np.int64), ordered
    found = []
    for start in range(0, hashes.size, chunk):
        part = hashes[start : start + chunk]
        where = np.minimum(np.searchsorted(repeated, part), repeated.size - 1)
        found.append(np.flatnonzero(repeated[where] == part) + start)
    positions = np.concatenate(found)  # every occurrence of a repeated hash, ascending
    _, first = np.unique(hashes[positions], return_index=True)
    return np.delete(positions, first), ordered


def _redraw_cross_shard_duplicates(
    ctx: _Context, split: str, hashes: Any, exclude: frozenset[int]
) -> int:
    """Keep each program's first occurrence in the split; redraw later copies in place
    (``hashes`` is updated). Returns how many items were redrawn."""
    import numpy as np
    import pyarrow.parquet as pq

    later, ordered = later_copies(hashes)
    if later.size == 0:
        return 0
    fresh: set[int] = set()

    class _Taken:
        def __contains__(self, key: int) -> bool:
            pos = np.searchsorted(ordered, np.uint64(key))
            return key in fresh or (pos < ordered.size and int(ordered[pos]) == key)

    taken = _Taken()
    by_shard: dict[int, dict[int, tuple]] = {}
    shard_size = ctx.config.shard_size
    for item in later.tolist():
        rng = random.Random(f"{ctx.config.seed}:{split}:redraw:{item}")
        mandatory = ctx.mandatory(split, item, item + 1)[0]
        key, row = ctx.draw_unique(rng, split, item, taken, exclude, mandatory)
        fresh.add(key)
        hashes[item] = key
        by_shard.setdefault(item // shard_size, {})[item % shard_size] = row
    for index, replaced in by_shard.items():
        path = ctx.writer.shard_path(split, index)
        columns = pq.read_table(path).to_pydict()
        rows = list(zip(*(columns[name] for name in COLUMNS), strict=True))
        for position, row in replaced.items():
            rows[position] = row
        ctx.write(split, index, rows)
    return int(later.size)


def build_lolameme(
    config: LolamemeConfig, writer: DatasetWriter, workers: int, method: str | None = None
) -> dict[str, Any]:
    """Fill ``writer`` with every split of ``config``; the Task ``build`` of LoLa/MeMe.

    ``method`` forces a multiprocessing start method (default:
    :func:`lolameme.data.pool.start_method`).
    """
    names = draw_names(config, config.seed)
    initargs = (config.model_dump(mode="json"), names, str(writer.root))
    items = config.dataset_size + config.test_dataset_size * len(config.test_splits)
    if items < SERIAL_BELOW_ITEMS:
        workers = 1
    # No idle workers to start: a stage (test splits, then train) never has more jobs.
    tests = len(config.test_splits) * shard_count(config.test_dataset_size, config.shard_size)
    workers = min(workers, max(tests, shard_count(config.dataset_size, config.shard_size)))
    try:
        # The pool starts before numpy and tqdm are loaded here: no thread exists at a fork.
        with shard_map(max(1, workers), _init_worker, initargs, method) as pmap:
            redrawn = _draw_splits(config, names, writer, pmap)
    finally:
        _WORKER.clear()
    return {
        "split_order": ["train", *config.test_splits],
        "globals": dict(names.globals),
        "extra": {
            "locals": list(names.locals),
            "global_schedule_per_item": global_schedule(config),
            "cross_shard_redraws": redrawn,
        },
    }


def _draw_splits(
    config: LolamemeConfig, names: NameTables, writer: DatasetWriter, pmap: OrderedMap
) -> dict[str, int]:
    """Test splits first (their hashes then bar them from train), then train."""
    import numpy as np
    from tqdm import tqdm

    tests = list(config.test_splits)
    plan = {split: _jobs(split, config.test_dataset_size, config.shard_size) for split in tests}
    plan["train"] = _jobs("train", config.dataset_size, config.shard_size)
    total = config.dataset_size + config.test_dataset_size * len(tests)
    parent = _Context(config, names, writer.root)
    redrawn: dict[str, int] = {}
    exclude: frozenset[int] = frozenset()
    with tqdm(total=total, unit="item", desc="generate", disable=None) as bar:
        for stage in (tests, ["train"]):
            # One uint64 per item, filled as shards finish (8 bytes per item in memory).
            keys = {split: np.zeros(plan[split][-1].stop, dtype=np.uint64) for split in stage}
            jobs = [job for split in stage for job in plan[split]]
            for job, packed in pmap(_run_shard, [(job, exclude) for job in jobs]):
                keys[job.split][job.start : job.stop] = np.frombuffer(packed, dtype="<u8")
                bar.update(job.stop - job.start)
            for split in stage:
                redrawn[split] = _redraw_cross_shard_duplicates(parent, split, keys[split], exclude)
            if stage is tests and keys:
                exclude = frozenset(np.concatenate(list(keys.values())).tolist())
    return redrawn
