"""MQAR generator: layout, labels by dict lookup, power law, seeds, determinism, errors."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from lolameme.data.store import load_split, open_dataset
from lolameme.data.tasks import get_task, mqar
from lolameme.data.tasks.mqar import MQARConfig, generate_arrays, mqar_answers
from lolameme.errors import ConfigError, DataError


def check_row(inputs: list[int], targets: list[int], config: MQARConfig) -> list[int]:
    """Check one row against the stated layout; return its query slots in key order."""
    n, length, half = config.num_kv_pairs, config.seq_len, config.vocab_size // 2
    context = 2 * n
    assert len(inputs) == len(targets) == length
    keys, values = inputs[0:context:2], inputs[1:context:2]
    assert all(1 <= k < half for k in keys), keys
    assert all(half <= v < config.vocab_size for v in values), values
    assert len(set(keys)) == n and len(set(values)) == n
    pairs = dict(zip(keys, values, strict=True))  # the independent answer key
    labelled = [t for t, y in enumerate(targets) if y != -100]
    assert len(labelled) == n
    for t in labelled:
        assert t >= context and (t - context) % 2 == 0  # the start of a 2-token slot
        assert targets[t] == pairs[inputs[t]]
    assert sorted(inputs[t] for t in labelled) == sorted(keys)  # each key queried once
    if config.filler == "zero":
        rest = [inputs[t] for t in range(context, length) if t not in set(labelled)]
        assert rest == [0] * (length - context - n)
    else:
        assert all(0 <= x < config.vocab_size for x in inputs)
    return [(t - context) // 2 for t in sorted(labelled, key=lambda t: keys.index(inputs[t]))]


@pytest.mark.parametrize("filler", ["zero", "random"])
def test_dataset_layout_and_labels(build_task_dataset: Callable[..., Path], filler: str) -> None:
    config = MQARConfig(**mqar.PRESETS["smoke"], filler=filler)
    info = open_dataset(build_task_dataset("mqar", filler=filler))
    assert info.task == "mqar" and info.format == "tokens"
    assert info.manifest["vocab_size"] == config.vocab_size
    assert info.manifest["test_rows_in_train"] == 0
    rows = {}
    for split, size in (("train", config.num_train), ("test", config.num_test)):
        frame = load_split(info, split)
        assert list(frame.columns) == ["inputs", "targets"] and len(frame) == size
        for inputs, targets in zip(frame["inputs"], frame["targets"], strict=True):
            check_row(list(inputs), list(targets), config)
        rows[split] = {tuple(x) for x in frame["inputs"]}
    assert not rows["train"] & rows["test"]


def test_random_filler_is_random_and_zero_filler_is_zero() -> None:
    base = MQARConfig(**mqar.PRESETS["smoke"])
    zero, _ = generate_arrays(base.model_copy(update={"filler": "zero"}), 200, _rng())
    rand, _ = generate_arrays(base, 200, _rng())
    tail = slice(2 * base.num_kv_pairs, base.seq_len)
    assert (zero[:, tail] == 0).mean() > 0.5
    assert (rand[:, tail] == 0).mean() < 0.1
    assert len(np.unique(rand[:, tail])) == base.vocab_size


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _slots(config: MQARConfig, rows: int) -> np.ndarray:
    inputs, targets = generate_arrays(config, rows, _rng())
    return np.array(
        [check_row(list(i), list(t), config) for i, t in zip(inputs, targets, strict=True)]
    )


@pytest.mark.parametrize(
    ("vocab_size", "seq_len", "pairs", "filler"),
    [(8192, 512, 64, "random"), (160, 100, 20, "zero"), (70, 140, 34, "random")],
)
def test_many_pairs_layout_and_labels(
    vocab_size: int, seq_len: int, pairs: int, filler: str
) -> None:
    """Beyond 16 pairs the faster samplers run (and Floyd's when keys are few, 34 of
    34 here): the same layout, labels by dict lookup, no slot out of its place."""
    config = MQARConfig(vocab_size=vocab_size, seq_len=seq_len, num_kv_pairs=pairs, filler=filler)
    assert pairs > mqar.LEGACY_MAX_PAIRS
    inputs, targets = generate_arrays(config, 200, _rng())
    assert inputs.dtype == targets.dtype == np.int32
    for i, t in zip(inputs, targets, strict=True):
        check_row(list(i), list(t), config)


def test_query_slots_follow_the_power_law() -> None:
    """Key j's slot is the j-th weighted draw: key 0's slot has P(g) ~ (g+1)^(a-1)."""
    config = MQARConfig(vocab_size=64, seq_len=24, num_kv_pairs=4, power_a=0.5, filler="zero")
    slots = _slots(config, 8000)
    n_slots = (config.seq_len - 2 * config.num_kv_pairs) // 2
    weights = np.arange(1, n_slots + 1) ** (config.power_a - 1)
    expected = weights / weights.sum()
    observed = np.bincount(slots[:, 0], minlength=n_slots) / len(slots)
    assert np.abs(observed - expected).max() < 0.02, (observed, expected)


def test_power_a_moves_queries_towards_the_pairs() -> None:
    near = MQARConfig(vocab_size=256, seq_len=256, num_kv_pairs=4, power_a=0.01)
    flat = near.model_copy(update={"power_a": 1.0})
    n_slots = (near.seq_len - 2 * near.num_kv_pairs) // 2
    mean_flat, mean_near = _slots(flat, 2000).mean(), _slots(near, 2000).mean()
    assert abs(mean_flat - (n_slots - 1) / 2) < 0.05 * n_slots  # uniform
    assert mean_near < 0.6 * mean_flat


def test_every_row_is_a_fresh_sample() -> None:
    """Vectorised draws must not repeat one row's keys or slots across the batch."""
    config = MQARConfig(vocab_size=8192, seq_len=64, num_kv_pairs=4)
    inputs, _ = generate_arrays(config, 500, _rng())
    assert len({tuple(row[:8]) for row in inputs}) == 500
    keys = inputs[:, 0:8:2].ravel()
    assert keys.min() >= 1 and keys.max() < 4096 and len(np.unique(keys)) > 1500


def test_train_and_test_streams_differ_for_every_seed(
    build_task_dataset: Callable[..., Path],
) -> None:
    info = open_dataset(build_task_dataset("mqar", num_train=64, num_test=64, seed=3))
    train, test = load_split(info, "train"), load_split(info, "test")
    assert not any((a == b).all() for a, b in zip(train["inputs"], test["inputs"], strict=True))
    again = open_dataset(
        build_task_dataset("mqar", name="again", num_train=64, num_test=64, seed=3)
    )
    assert again.manifest["sha256"] == info.manifest["sha256"]


def test_workers_do_not_change_the_bytes(build_task_dataset: Callable[..., Path]) -> None:
    sizes = {"num_train": 2 * mqar.SHARD_ROWS + 300, "num_test": 100}  # three train shards
    one = open_dataset(build_task_dataset("mqar", name="w1", workers=1, **sizes))
    two = open_dataset(build_task_dataset("mqar", name="w2", workers=2, **sizes))
    assert len(one.files("train")) == 3
    assert one.manifest["sha256"] == two.manifest["sha256"]


def test_mqar_answers_is_a_lookup_and_rejects_non_keys() -> None:
    inputs = np.array([[5, 40, 7, 33, 0, 0, 7, 0, 5, 0]])
    assert mqar_answers(inputs, np.array([[6, 8]]), 2).tolist() == [[33, 40]]
    with pytest.raises(DataError, match="row 0: token 0 at position 4"):
        mqar_answers(inputs, np.array([[4, 6]]), 2)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"seq_len": 60, "num_kv_pairs": 16}, "seq_len must be >= 64"),
        ({"seq_len": 64, "num_kv_pairs": 17}, "does not fit in seq_len=64"),
        ({"vocab_size": 16, "num_kv_pairs": 8}, "7 of them.*vocab_size must be >= 18"),
    ],
)
def test_impossible_configs_are_clear_errors(fields: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        MQARConfig(**fields)


def test_smallest_possible_configs_work() -> None:
    config = MQARConfig(vocab_size=18, seq_len=32, num_kv_pairs=8)  # keys 1..8, slots 8
    inputs, targets = generate_arrays(config, 50, _rng())
    for i, t in zip(inputs, targets, strict=True):
        check_row(list(i), list(t), config)


def test_unknown_or_bad_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="num_pairs"):
        MQARConfig(num_pairs=4)
    with pytest.raises(ValidationError, match="filler"):
        MQARConfig(filler="pad")


def test_global_rngs_are_untouched(build_task_dataset: Callable[..., Path]) -> None:
    np_state, py_state = np.random.get_state(), random.getstate()
    build_task_dataset("mqar")
    after = np.random.get_state()
    assert np_state[0] == after[0] and (np_state[1] == after[1]).all() and np_state[2] == after[2]
    assert random.getstate() == py_state


def test_registered_with_presets() -> None:
    task = get_task("mqar")
    assert task.format == "tokens" and task.default_preset in task.presets
    for preset in task.presets.values():
        MQARConfig(**preset)
    zoo = MQARConfig(**task.presets["mqar-zoology"])
    assert (zoo.vocab_size, zoo.num_train, zoo.num_test, zoo.power_a) == (
        8192,
        100_000,
        3_000,
        0.01,
    )
    for seq_len, pairs in ((64, 4), (128, 8), (256, 16)):  # the sweep the issue asks for
        MQARConfig(**(zoo.model_dump() | {"seq_len": seq_len, "num_kv_pairs": pairs}))


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 300),
    k=st.integers(0, 40),
    extra=st.integers(0, 60),
    seed=st.integers(0, 2**31 - 1),
)
def test_floyd_steps_equal_the_definition(rows: int, k: int, extra: int, seed: int) -> None:
    """Both of _floyd's paths (comparisons for k < 16, the table beyond, several blocks
    of rows) against Floyd's step written per row: the same distinct samples."""
    n = k + extra
    rng = np.random.default_rng(seed)
    picks = np.zeros((rows, k), dtype=np.int64)
    for i in range(k):
        picks[:, i] = rng.integers(0, n - k + i + 1, size=rows)
    want = np.empty_like(picks)
    for r in range(rows):
        seen: set[int] = set()
        for i in range(k):
            take = n - k + i if int(picks[r, i]) in seen else int(picks[r, i])
            seen.add(take)
            want[r, i] = take
    old_cells = mqar.FLOYD_TABLE_CELLS
    try:
        mqar.FLOYD_TABLE_CELLS = 64 * max(n, 1)  # blocks of 64 rows: several per call
        assert np.array_equal(mqar._floyd(picks, n), want)
    finally:
        mqar.FLOYD_TABLE_CELLS = old_cells
    assert np.array_equal(mqar._floyd(picks, n), want)
    assert all(len(set(row)) == k for row in want.tolist())


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 20), pairs=st.integers(1, 12), seed=st.integers(0, 2**31 - 1))
def test_mqar_answers_equals_a_per_row_lookup(rows: int, pairs: int, seed: int) -> None:
    """The sorted search against a dict per row (repeated keys: the first pair wins)."""
    rng = np.random.default_rng(seed)
    context = 2 * pairs
    inputs = rng.integers(0, 2 * pairs, size=(rows, context + 6))
    positions = context + rng.integers(0, 6, size=(rows, 3))
    for r in range(rows):  # make every query a key of its row
        inputs[r, positions[r]] = rng.choice(inputs[r, 0:context:2], size=3)
    want = []
    for r in range(rows):
        lookup: dict[int, int] = {}
        for key, value in zip(inputs[r, 0:context:2], inputs[r, 1:context:2], strict=True):
            lookup.setdefault(int(key), int(value))
        want.append([lookup[int(q)] for q in inputs[r, positions[r]]])
    assert mqar_answers(inputs, positions, pairs).tolist() == want
