"""MQAR's samplers: the pinned bytes up to 16 pairs, and the same law beyond.

Up to ``LEGACY_MAX_PAIRS`` pairs the generator must reproduce, byte for byte, the code
every preset was made with (a plain reference below). Beyond, the faster samplers
must draw from the same law: chi-square tests against the exact probabilities, with
fixed seeds, and a check that the test rejects a plausible wrong sampler.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lolameme.data.tasks import mqar
from lolameme.data.tasks.mqar import MQARConfig, generate_arrays, mqar_answers

# ------------------------------------------------------------------ pinned bytes


def reference_arrays(
    config: MQARConfig, rows: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The generator as the presets' data was made, written plainly: Floyd's subset
    algorithm per row then a shuffle, Gumbel-top-k by a full stable sort, int64
    tokens, labels looked up by ``mqar_answers``."""
    n, length, vocab = config.num_kv_pairs, config.seq_len, config.vocab_size
    half, context = vocab // 2, 2 * n

    def distinct(k: int, m: int) -> np.ndarray:
        picks = np.stack([rng.integers(0, m - k + i + 1, size=rows) for i in range(k)], axis=1)
        chosen = np.empty_like(picks)
        for r in range(rows):
            seen: set[int] = set()
            for i in range(k):
                take = m - k + i if int(picks[r, i]) in seen else int(picks[r, i])
                seen.add(take)
                chosen[r, i] = take
        return np.take_along_axis(chosen, np.argsort(rng.random((rows, k)), axis=1), axis=1)

    keys = 1 + distinct(n, half - 1)
    values = half + distinct(n, vocab - half)
    slots = (length - context) // 2
    log_w = (config.power_a - 1.0) * np.log(np.arange(1, slots + 1))
    scores = log_w[None, :] + rng.gumbel(size=(rows, slots))
    order = np.argsort(-scores, axis=1, kind="stable")[:, :n]
    if config.filler == "random":
        inputs = rng.integers(0, vocab, size=(rows, length), dtype=np.int64)
    else:
        inputs = np.zeros((rows, length), dtype=np.int64)
    inputs[:, 0:context:2] = keys
    inputs[:, 1:context:2] = values
    positions = context + 2 * order
    np.put_along_axis(inputs, positions, keys, axis=1)
    targets = np.full((rows, length), -100, dtype=np.int64)
    np.put_along_axis(targets, positions, mqar_answers(inputs, positions, n), axis=1)
    return inputs.astype(np.int32), targets.astype(np.int32)


@pytest.mark.parametrize(
    "fields",
    [
        {"vocab_size": 32, "seq_len": 32, "num_kv_pairs": 4},  # smoke
        {"vocab_size": 128, "seq_len": 64, "num_kv_pairs": 8},  # mqar-small
        {"vocab_size": 64, "seq_len": 64, "num_kv_pairs": 4},  # the tiny grid
        {"vocab_size": 8192, "seq_len": 64, "num_kv_pairs": 4},  # mqar-zoology
        {"vocab_size": 8192, "seq_len": 256, "num_kv_pairs": 16},  # Floyd's table
        {"vocab_size": 18, "seq_len": 32, "num_kv_pairs": 8, "filler": "zero"},
        {"vocab_size": 300, "seq_len": 80, "num_kv_pairs": 16, "power_a": 1.0},
    ],
)
def test_up_to_16_pairs_the_bytes_are_the_references(fields: dict) -> None:
    config = MQARConfig(**fields)
    got = generate_arrays(config, 300, np.random.default_rng(7))
    want = reference_arrays(config, 300, np.random.default_rng(7))
    assert got[0].dtype == want[0].dtype == np.int32
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@pytest.mark.parametrize("high", [2, 18, 127, 8192, 2**20, 2**31 - 1])
def test_int32_draws_are_the_int64_draws(high: int) -> None:
    """What lets the filler be drawn as int32 without changing a token."""
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    wide = a.integers(0, high, size=(37, 11), dtype=np.int64)
    narrow = b.integers(0, high, size=(37, 11), dtype=np.int32)
    assert np.array_equal(wide, narrow)
    assert a.random() == b.random()  # the same state afterwards


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 40),
    n=st.integers(1, 300),
    k=st.integers(1, 300),
    levels=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    block=st.sampled_from([1, 64, 1 << 15]),
)
def test_first_k_is_the_stable_argsort(
    rows: int, n: int, k: int, levels: int, seed: int, block: int
) -> None:
    """Ties (few distinct values), signed zeros, negatives, near ties (a few units in
    the last place apart, equal once the column takes the low bits), several blocks."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(-levels, levels + 1, size=(rows, n)) / 3.0
    scores[rng.random((rows, n)) < 0.1] = -0.0
    scores[0] += rng.normal(size=n) * (seed % 2)  # one row of distinct values, often
    ulps = rng.integers(0, 4, size=n) * 2.0**-52
    scores[-1] = (1.0 + ulps) * (-1) ** (seed % 3)  # near ties, either sign
    k = min(k, n)
    old = mqar.BLOCK_CELLS
    try:
        mqar.BLOCK_CELLS = block
        got = mqar._first_k(scores, k)
    finally:
        mqar.BLOCK_CELLS = old
    assert np.array_equal(got, np.argsort(scores, axis=1, kind="stable")[:, :k])


@pytest.mark.parametrize("pairs", [4, 16, 20, 64])
@pytest.mark.parametrize("cells", [1, 1 << 40])
def test_blocks_do_not_change_the_arrays(pairs: int, cells: int) -> None:
    """Blocks of rows only bound temporaries: one row per block, or one block for all
    rows, gives the arrays of the default blocks."""
    config = MQARConfig(vocab_size=1024, seq_len=4 * pairs + 40, num_kv_pairs=pairs)
    default = generate_arrays(config, 150, np.random.default_rng(5))
    old = mqar.BLOCK_CELLS
    try:
        mqar.BLOCK_CELLS = cells
        other = generate_arrays(config, 150, np.random.default_rng(5))
    finally:
        mqar.BLOCK_CELLS = old
    assert np.array_equal(default[0], other[0]) and np.array_equal(default[1], other[1])


# ------------------------------------------------------------------ the same law beyond


def chi_square_rejects(counts: np.ndarray, probs: np.ndarray) -> bool:
    """Pearson's test at p ~ 1e-6 (Wilson-Hilferty's approximation of the quantile).

    The seeds are fixed, so a pass is reproducible; the bound is loose enough that a
    correct sampler passes for any seed, tight enough that the wrong ones below fail.
    """
    expected = counts.sum() * probs
    assert expected.min() >= 5, "too few samples per cell for a chi-square test"
    stat = float(((counts - expected) ** 2 / expected).sum())
    df = counts.size - 1
    z = 4.75
    return stat > df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def cell_counts(samples: np.ndarray, cells: list[tuple[int, ...]]) -> np.ndarray:
    index = {cell: i for i, cell in enumerate(cells)}
    counts = np.zeros(len(cells))
    for row in map(tuple, samples.tolist()):
        counts[index[row]] += 1
    return counts


def uniform_law(k: int, n: int) -> tuple[list[tuple[int, ...]], np.ndarray]:
    cells = list(itertools.permutations(range(n), k))
    return cells, np.full(len(cells), 1 / len(cells))


def successive_law(k: int, weights: np.ndarray) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """Ordered k-tuples of successive weighted draws without replacement, exactly."""
    p = weights / weights.sum()
    cells = list(itertools.permutations(range(len(p)), k))
    probs = []
    for cell in cells:
        prob, left = 1.0, 1.0
        for g in cell:
            prob *= p[g] / left
            left -= p[g]
        probs.append(prob)
    return cells, np.array(probs)


def next_free(rng: np.random.Generator, rows: int, k: int, n: int) -> np.ndarray:
    """A plausible wrong sampler: a repeated draw moves to the next free value."""
    out = rng.integers(0, n, size=(rows, k))
    for row in out:
        for i in range(k):
            while row[i] in row[:i]:
                row[i] = (row[i] + 1) % n
    return out


def test_distinct_redraw_is_uniform_over_ordered_tuples() -> None:
    cells, probs = uniform_law(3, 12)  # n = 4k: the redraw path, 1,320 cells
    samples = mqar._distinct_redraw(np.random.default_rng(0), 40_000, 3, 12)
    assert not chi_square_rejects(cell_counts(samples, cells), probs)
    wrong = next_free(np.random.default_rng(0), 40_000, 3, 12)
    assert chi_square_rejects(cell_counts(wrong, cells), probs)


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(1, 200),
    k=st.integers(1, 130),
    spare=st.integers(0, 600),
    seed=st.integers(0, 2**32 - 1),
)
def test_distinct_redraw_gives_distinct_values_in_range(
    rows: int, k: int, spare: int, seed: int
) -> None:
    """Both paths (redraws for n >= 4k, Floyd below), any shape: exact distinctness."""
    n = k + spare
    out = mqar._distinct_redraw(np.random.default_rng(seed), rows, k, n)
    assert out.shape == (rows, k) and out.min() >= 0 and out.max() < n
    assert (np.diff(np.sort(out, axis=1), axis=1) > 0).all()


def test_distinct_redraw_at_many_pairs_is_uniform_per_position() -> None:
    """k = 128 of 4,095 (vocab 8192, 1024/128): each position's value uniform, and the
    order of two positions a coin flip."""
    out = mqar._distinct_redraw(np.random.default_rng(1), 4_000, 128, 4095)
    assert (np.diff(np.sort(out, axis=1), axis=1) > 0).all()
    for column in (0, 64, 127):
        counts = np.bincount(out[:, column] * 32 // 4095, minlength=32)
        assert not chi_square_rejects(counts, np.full(32, 1 / 32))
    assert abs((out[:, 0] < out[:, 127]).mean() - 0.5) < 0.03


@pytest.mark.parametrize("power_a", [0.01, 0.3, 1.0])
def test_race_and_gumbel_slots_follow_successive_draws(power_a: float) -> None:
    """Both query-slot samplers against the exact law of numpy's choice(replace=False,
    p=w) called per row (Zoology's): 3 of 6 slots, 120 ordered cells."""
    weights = np.arange(1, 7, dtype=np.float64) ** (power_a - 1.0)
    cells, probs = successive_law(3, weights)
    for sampler in (mqar._query_slots_race, mqar._query_slots):
        samples = sampler(np.random.default_rng(2), 60_000, 3, 6, power_a)
        assert not chi_square_rejects(cell_counts(samples, cells), probs), sampler
    if power_a != 1.0:  # a wrong weighting (the weights squared) is rejected
        wrong = mqar._query_slots_race(np.random.default_rng(2), 60_000, 3, 6, 2 * power_a - 1)
        assert chi_square_rejects(cell_counts(wrong, cells), probs)


def test_race_slots_at_many_pairs() -> None:
    """448 slots, 128 queries (1024/128): distinct slots, the first one ~ the power law."""
    slots = mqar._query_slots_race(np.random.default_rng(3), 6_000, 128, 448, 0.01)
    assert slots.min() >= 0 and slots.max() < 448
    assert (np.diff(np.sort(slots, axis=1), axis=1) > 0).all()
    weights = np.arange(1, 449, dtype=np.float64) ** -0.99
    p = weights / weights.sum()
    edges = [0, 1, 2, 3, 5, 8, 13, 21, 40, 80, 160, 448]  # cells of >= 5 expected rows
    counts = np.add.reduceat(np.bincount(slots[:, 0], minlength=448), edges[:-1])
    assert not chi_square_rejects(counts, np.add.reduceat(p, edges[:-1]))


@pytest.mark.parametrize("pairs", [4, 20])
def test_no_rows_give_empty_arrays(pairs: int) -> None:
    config = MQARConfig(vocab_size=256, seq_len=4 * pairs + 8, num_kv_pairs=pairs)
    inputs, targets = generate_arrays(config, 0, np.random.default_rng(0))
    assert inputs.shape == targets.shape == (0, config.seq_len)
