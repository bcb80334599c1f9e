"""MQAR, multi-query associative recall (Arora et al. 2023, "Zoology"), as Zoology builds it.

Layout of one sequence of ``seq_len`` tokens with ``n = num_kv_pairs``::

    position  0   1   2   3  ...  2n-2 2n-1 | 2n ...                         seq_len-1
    inputs    k0  v0  k1  v1 ...  kn-1 vn-1 | filler, and each key once at a query slot
    targets   -100 everywhere except at query positions, where target = value of that key

- Keys are distinct tokens from ``1 .. vocab_size//2 - 1``, values distinct tokens from
  ``vocab_size//2 .. vocab_size - 1`` (token 0 is never a key or a value).
- After the pairs, the ``seq_len - 2n`` positions form ``(seq_len - 2n) // 2`` two-token
  slots; slot ``g`` starts at position ``2n + 2g``. Every key is queried exactly once,
  at the start of a distinct slot; the slots are drawn without replacement with
  ``P(g) ~ (g + 1) ** (power_a - 1)`` (Zoology's power law: small ``power_a`` puts the
  queries close to the pairs, ``power_a = 1`` is uniform).
- Filler (every other position): ``filler="random"`` draws uniform tokens from the whole
  vocabulary, as Zoology's default ``random_non_queries=True`` (a filler token may thus
  equal a key; it carries no label); ``filler="zero"`` writes token 0.

Alignment (the same as Zoology's): ``inputs`` is the sequence and ``targets[t]`` is the
label of the model's output at position ``t``, i.e. of its prediction of the next
token after having read ``inputs[0..t]``. At a query position ``t``, ``inputs[t]`` is
the key and ``targets[t]`` its value; a trainer scores ``logits[:, t]`` against
``targets[:, t]`` with ``ignore_index=-100`` and must NOT shift again. The value is
never shown after the query (``inputs[t + 1]`` is filler).

Generation is vectorised over the rows of a shard (loops run over pairs or blocks of
rows, never over single rows). Settings with at most ``LEGACY_MAX_PAIRS`` = 16 pairs
(every preset) keep the samplers their data was first made with, byte for byte; more
pairs use faster samplers of the same law (uniform distinct keys and values, slots as
successive weighted draws). Shard ``s`` of a split draws from
``np.random.default_rng([seed, split_id, s])`` with ``split_id`` 0 for train and 1 for
test, so the train and test streams come from disjoint seed sequences for any seed
(Zoology uses ``seed`` and ``seed + 10``).
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lolameme.data.pool import shard_count, shard_map, shard_sizes
from lolameme.data.store import IGNORE_INDEX
from lolameme.data.tasks import Task
from lolameme.errors import ConfigError, DataError

SPLIT_IDS = {"train": 0, "test": 1}
SHARD_ROWS = 10_000  # rows per generation shard and output file (fixed: see lolameme.data.pool)
TOKEN_DTYPE = np.int32


class MQARConfig(BaseModel):
    """One MQAR setting; sweeps (seq_len, pairs, ...) are one data set per setting."""

    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(128, ge=4, description="tokens 0..vocab_size-1")
    seq_len: int = Field(64, ge=4)
    num_kv_pairs: int = Field(8, ge=1, description="pairs in the context = queries")
    power_a: float = Field(0.01, gt=0.0, description="query-slot power law; 1.0 = uniform")
    filler: Literal["random", "zero"] = "random"
    num_train: int = Field(10_000, ge=1)
    num_test: int = Field(1_000, ge=1)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> MQARConfig:
        n = self.num_kv_pairs
        if 4 * n > self.seq_len:
            raise ConfigError(
                f"mqar: num_kv_pairs={n} does not fit in seq_len={self.seq_len}: the pairs "
                f"take 2*{n} tokens and each of the {n} queries a 2-token slot, so seq_len "
                f"must be >= {4 * n}"
            )
        keys = self.vocab_size // 2 - 1
        if keys < n:
            raise ConfigError(
                f"mqar: vocab_size={self.vocab_size} is too small for {n} distinct keys: "
                f"keys are tokens 1..{self.vocab_size // 2 - 1} ({keys} of them); "
                f"vocab_size must be >= {2 * (n + 1)}"
            )
        return self


# ---------------------------------------------------------------------------- labels


def mqar_answers(inputs: np.ndarray, positions: np.ndarray, num_kv_pairs: int) -> np.ndarray:
    """The value each query must recall: look ``inputs[b, positions[b, j]]`` up in row b's pairs.

    Pure and vectorised (``inputs`` [B, L], ``positions`` [B, Q] -> [B, Q]); the
    tests check the generator's labels with it, and evaluation can re-derive labels
    with it.
    Raises :class:`DataError` if a queried token is not one of its row's keys.
    """
    context = 2 * num_kv_pairs
    keys, values = inputs[:, 0:context:2], inputs[:, 1:context:2]
    queries = np.take_along_axis(inputs, positions, axis=1)
    # one sorted search for all rows: row b's keys are shifted into their own range
    # [b * span, (b + 1) * span), so a query can only find its own row's keys.
    # O(B * (pairs + Q) log) instead of comparing every query with every key.
    rows, pairs = keys.shape
    span = int(max(keys.max(initial=0), queries.max(initial=0))) + 1
    shift = np.arange(rows, dtype=np.int64)[:, None] * span
    order = np.argsort(keys, axis=1, kind="stable")  # equal keys: the first one wins
    flat = (np.take_along_axis(keys, order, axis=1) + shift).ravel()
    wanted = queries + shift
    at = np.minimum(np.searchsorted(flat, wanted.ravel()), flat.size - 1).reshape(wanted.shape)
    found = flat[at] == wanted if flat.size else np.zeros(wanted.shape, dtype=bool)
    if not found.all():
        row, col = np.argwhere(~found)[0]
        raise DataError(
            f"mqar: row {row}: token {queries[row, col]} at position {positions[row, col]} "
            "is not a key of the row's pairs"
        )
    pair = np.take_along_axis(order, at - np.arange(rows)[:, None] * pairs, axis=1)
    return np.take_along_axis(values, pair, axis=1)


# ---------------------------------------------------------------------------- sampling

# Settings with at most this many pairs (every preset and experiment grid) keep the
# sampling their data was first made with, so their files stay byte-identical; more
# pairs use the faster samplers below, which draw from the same law.
LEGACY_MAX_PAIRS = 16


def _distinct(rng: np.random.Generator, rows: int, k: int, n: int) -> np.ndarray:
    """``rows`` independent uniform ordered samples of ``k`` distinct ints from ``0..n-1``.

    Robert Floyd's subset algorithm run on all rows at once, then a per-row shuffle to
    make the order uniform. Floyd's draws do not depend on earlier outcomes, so all
    ``k`` are taken first (one call per step, in the same order as ever: same data).
    """
    picks = np.empty((rows, k), dtype=np.int64)
    for i, top in enumerate(range(n - k, n)):
        picks[:, i] = rng.integers(0, top + 1, size=rows)
    chosen = _floyd(picks, n)
    order = np.argsort(rng.random((rows, k)), axis=1)
    return np.take_along_axis(chosen, order, axis=1)


FLOYD_TABLE_CELLS = 1 << 22  # bytes of the "taken" table of :func:`_floyd`


def _floyd(picks: np.ndarray, n: int) -> np.ndarray:
    """Floyd's step i over every row: keep ``picks[:, i]`` unless the row already took it,
    then take ``top = n - k + i`` (never taken before: earlier picks are all < top).

    Whether a row took a pick is looked up in a (rows, n) table of flags, a block of
    rows at a time: O(k) per row. For few pairs (or a huge ``n``) comparing with the
    earlier picks, O(k^2) per row but with no table to clear, is cheaper.
    """
    rows, k = picks.shape
    chosen = np.empty_like(picks)
    block = FLOYD_TABLE_CELLS // max(n, 1)
    if k < 16 or block < 64:
        for i in range(k):
            taken = (chosen[:, :i] == picks[:, i, None]).any(axis=1)
            chosen[:, i] = np.where(taken, n - k + i, picks[:, i])
        return chosen
    table = np.zeros((min(block, rows), n), dtype=bool)
    for lo in range(0, rows, block):
        part = slice(lo, min(lo + block, rows))
        row = np.arange(part.stop - lo)
        for i in range(k):
            pick = picks[part, i]
            chosen[part, i] = take = np.where(table[row, pick], n - k + i, pick)
            table[row, take] = True
        table[row[:, None], chosen[part]] = False  # cleared for the next block
    return chosen


BLOCK_CELLS = 1 << 15  # elements of the samplers' per-block temporaries (256 KB of int64)


def _blocks(rows: int, width: int) -> list[slice]:
    """Runs of consecutive rows whose ``(rows, width)`` temporaries hold ``BLOCK_CELLS``
    (one empty run for no rows).

    Whole-shard temporaries (10,000 x 448 floats: 36 MB) are fresh memory every time,
    and first-touching it costs more than the arithmetic on it; blocks stay in cache.
    """
    step = max(1, BLOCK_CELLS // max(width, 1))
    return [slice(lo, min(lo + step, rows)) for lo in range(0, max(rows, 1), step)]


def _distinct_redraw(rng: np.random.Generator, rows: int, k: int, n: int) -> np.ndarray:
    """The law of :func:`_distinct` (for more than ``LEGACY_MAX_PAIRS`` pairs), faster.

    ``k`` uniform draws per row; every repeat of a value at an earlier position of its
    row is drawn again, and so is every new draw that equals another value of its row,
    until no row has two equal values. Exact: which positions are drawn again depends
    only on which positions hold equal values, so relabelling ``0..n-1`` leaves the law
    of the result unchanged, and the only such law on ordered k-tuples of distinct
    values is the uniform one. The first repeats are found by one sort per row of
    ``value * 2^b + position`` (equal values sort by position). With ``n < 4k`` new
    draws collide too often (k = n is the coupon collector): Floyd's algorithm instead.
    """
    if n < 4 * k:
        return _distinct(rng, rows, k, n)
    bits = max(k - 1, 1).bit_length()
    low = (1 << bits) - 1
    dtype = np.int32 if n << bits <= np.iinfo(np.int32).max else np.int64  # half the bytes
    out = rng.integers(0, n, size=(rows, k), dtype=dtype)
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for part in _blocks(rows, k):
        code = out[part] << bits
        code |= np.arange(k, dtype=dtype)
        code.sort(axis=1)
        later = code[:, 1:].reshape(-1)
        at = np.flatnonzero((later >> bits) == (code[:, :-1].reshape(-1) >> bits))
        found.append((part.start + at // max(k - 1, 1), later[at] & low))
    row, col = (np.concatenate(x) for x in zip(*found, strict=True))
    while row.size:
        out[row, col] = rng.integers(0, n, size=row.size, dtype=dtype)
        clash = np.empty(row.size, dtype=bool)
        for part in _blocks(row.size, k):  # the new draw equals another value of its row
            r, c = row[part], col[part]
            clash[part] = (out[r] == out[r, c][:, None]).sum(axis=1) > 1
        row, col = row[clash], col[clash]
    return out


def _first_k(scores: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(scores, axis=1, kind="stable")[:, :k]`` of float64 scores, faster.

    Each score's bits become an int64 in the same order (negative floats: the 63 low
    bits flipped); its ``b`` lowest bits are replaced by the column, and a plain sort of
    these keys (SIMD in numpy 2) yields the order and the columns. The order can differ
    from the stable sort's only where two scores agree but for those low bits; rows
    where two of the first ``k + 1`` sorted keys do are sorted again with the stable
    sort.
    """
    rows, n = scores.shape
    bits = max(n - 1, 1).bit_length()
    low = np.int64((1 << bits) - 1)
    columns = np.arange(n, dtype=np.int64)
    order = np.empty((rows, min(k, n)), dtype=np.int64)
    tied = np.empty(rows, dtype=bool)
    for part in _blocks(rows, n):
        key = (scores[part] + 0.0).view(np.int64)  # + 0.0: -0.0 (== 0.0) becomes 0.0
        key ^= (key >> 63) & np.int64(0x7FFF_FFFF_FFFF_FFFF)
        key &= ~low
        key |= columns
        key.sort(axis=1)
        first = key[:, : k + 1] >> bits
        tied[part] = (first[:, 1:] == first[:, :-1]).any(axis=1)
        order[part] = key[:, :k] & low
    if tied.any():
        order[tied] = np.argsort(scores[tied], axis=1, kind="stable")[:, :k]
    return order


def _query_slots(
    rng: np.random.Generator, rows: int, k: int, slots: int, power_a: float
) -> np.ndarray:
    """Distinct slots per row drawn one after another with P(g) ~ (g+1)^(power_a-1).

    The Gumbel-top-k trick: sorting log-weights plus Gumbel noise gives exactly the
    law of successive weighted draws without replacement (numpy's ``choice(replace=
    False, p=...)``, which Zoology calls per row), for all rows at once.
    """
    log_w = (power_a - 1.0) * np.log(np.arange(1, slots + 1))
    scores = rng.gumbel(size=(rows, slots))
    scores += log_w
    return _first_k(np.negative(scores, out=scores), k)


def _query_slots_race(
    rng: np.random.Generator, rows: int, k: int, slots: int, power_a: float
) -> np.ndarray:
    """The law of :func:`_query_slots` (for more than ``LEGACY_MAX_PAIRS`` pairs), faster.

    An exponential race: slot g rings at time ``E_g / w_g`` with ``E_g`` standard
    exponential; the first slot to ring is g with probability ``w_g / sum(w)``, and by
    memorylessness the rest ring as successive draws without replacement, so the
    first ``k`` slots in ringing order have the law of :func:`_query_slots` (whose
    Gumbel scores are ``-log`` of these times). Exponentials cost a fraction of Gumbel
    draws; equal times, probability ~0, ring in slot order. Drawn a block of rows at a
    time into one buffer: the same numbers as one call for all rows.
    """
    inverse_w = np.arange(1, slots + 1, dtype=np.float64) ** (1.0 - power_a)
    order = np.empty((rows, k), dtype=np.int64)
    blocks = _blocks(rows, slots)
    times = np.empty((blocks[0].stop, slots))
    for part in blocks:
        block = times[: part.stop - part.start]
        rng.standard_exponential(out=block)
        block *= inverse_w
        order[part] = _first_k(block, k)
    return order


def generate_arrays(
    config: MQARConfig, rows: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, targets)``, both ``[rows, seq_len]`` int32, for one shard."""
    n, length, vocab = config.num_kv_pairs, config.seq_len, config.vocab_size
    half, context = vocab // 2, 2 * config.num_kv_pairs
    legacy = n <= LEGACY_MAX_PAIRS
    distinct = _distinct if legacy else _distinct_redraw
    keys = 1 + distinct(rng, rows, n, half - 1)
    values = half + distinct(rng, rows, n, vocab - half)
    slots = (_query_slots if legacy else _query_slots_race)(
        rng, rows, n, (length - context) // 2, config.power_a
    )
    # int32 from the start: numpy draws a range below 2**32 from the same stream for
    # int32 as for int64 (a test checks it), so the tokens are those of int64 draws.
    if config.filler == "random":
        inputs = rng.integers(0, vocab, size=(rows, length), dtype=TOKEN_DTYPE)
    else:
        inputs = np.zeros((rows, length), dtype=TOKEN_DTYPE)
    targets = np.empty((rows, length), dtype=TOKEN_DTYPE)
    positions = context + 2 * slots  # key j is queried at positions[:, j]
    for part in _blocks(rows, length):  # scattered writes land in cache
        block, labels, where = inputs[part], targets[part], positions[part]
        block[:, 0:context:2] = keys[part]
        block[:, 1:context:2] = values[part]
        np.put_along_axis(block, where, keys[part], axis=1)
        labels.fill(IGNORE_INDEX)
        # a row's keys are distinct, so key j's answer is value j: what mqar_answers
        # finds by search (a test checks that the two agree)
        np.put_along_axis(labels, where, values[part], axis=1)
    return inputs, targets


def _token_lists(array: np.ndarray) -> Any:
    """A list<int> column of the rows of ``array``, assembled from its buffers
    (``pyarrow.array`` would import pandas in every worker: 0.4 s, see
    :func:`lolameme.data.store.arrow_table`)."""
    import pyarrow as pa

    rows, length = array.shape
    offsets = np.arange(0, (rows + 1) * length, length, dtype=np.int32)
    kind = pa.from_numpy_dtype(array.dtype)
    flat = np.ascontiguousarray(array).reshape(-1)
    values = pa.Array.from_buffers(kind, flat.size, [None, pa.py_buffer(flat)])
    return pa.Array.from_buffers(
        pa.list_(kind), rows, [None, pa.py_buffer(offsets)], children=[values]
    )


def write_shard(job: tuple[MQARConfig, str, int, int, Any]) -> list[bytes]:
    """Generate and write one shard (in a worker); return a digest per input row."""
    import pyarrow as pa

    config, split, shard, rows, writer = job
    rng = np.random.default_rng([config.seed, SPLIT_IDS[split], shard])
    inputs, targets = generate_arrays(config, rows, rng)
    table = pa.Table.from_arrays(
        [_token_lists(inputs), _token_lists(targets)], names=["inputs", "targets"]
    )
    writer.write_shard(split, shard, table)
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in inputs]


# ---------------------------------------------------------------------------- build


def build(config: MQARConfig, writer: Any, workers: int) -> dict[str, Any]:
    """Write train and test (tokens format); count test inputs that also occur in train.

    Like Zoology, overlap is reported (manifest ``test_rows_in_train``), not removed:
    with the presets it is essentially zero, and removing rows would bias the layout.
    """
    sizes = {"train": config.num_train, "test": config.num_test}
    digests: dict[str, set[bytes]] = {}
    most_shards = max(shard_count(rows, SHARD_ROWS) for rows in sizes.values())
    with shard_map(min(workers, most_shards)) as pmap:  # no idle workers to start
        for split, total in sizes.items():
            jobs = [
                (config, split, shard, rows, writer)
                for shard, rows in enumerate(shard_sizes(total, SHARD_ROWS))
            ]
            digests[split] = {d for shard in pmap(write_shard, jobs) for d in shard}
    return {
        "split_order": ["train", "test"],
        "globals": None,
        "extra": {
            "vocab_size": config.vocab_size,
            "seq_len": config.seq_len,
            "ignore_index": IGNORE_INDEX,
            "test_rows_in_train": len(digests["test"] & digests["train"]),
        },
    }


PRESETS: dict[str, dict[str, Any]] = {
    "mqar-zoology": {
        "vocab_size": 8192,
        "seq_len": 64,
        "num_kv_pairs": 4,
        "num_train": 100_000,
        "num_test": 3_000,
    },
    "mqar-small": {
        "vocab_size": 128,
        "seq_len": 64,
        "num_kv_pairs": 8,
        "num_train": 10_000,
        "num_test": 1_000,
    },
    "smoke": {
        "vocab_size": 32,
        "seq_len": 32,
        "num_kv_pairs": 4,
        "num_train": 256,
        "num_test": 64,
    },
}

TASK = Task(
    name="mqar",
    description="MQAR (Zoology): recall the value of each queried key; labels at queries only",
    format="tokens",
    config_cls=MQARConfig,
    presets=PRESETS,
    build=build,
    default_preset="mqar-small",
    notes={
        "mqar-zoology": "Zoology's setting: vocab 8192, 100k/3k; sweep seq_len 64..256 and "
        "num_kv_pairs 4..16 with overrides",
        "mqar-small": "CPU-sized: vocab 128, seq_len 64, 8 pairs, 10k/1k",
        "smoke": "vocab 32, seq_len 32, 4 pairs, 256/64 rows",
    },
)
