"""The training schedule of globals: item i mentions positions [i*q, (i+1)*q) of shuffled
copies of all globals, so every global appears equally often, and a shard's block of
items is exactly the items taken one by one."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from lolameme.data.tasks.lolameme.generator import GlobalSchedule


@given(
    g=st.integers(1, 40),
    q=st.integers(1, 12),
    start=st.integers(0, 200),
    length=st.integers(0, 60),
    seed=st.integers(0, 3),
)
def test_a_block_is_its_items_one_by_one(g, q, start, length, seed) -> None:
    schedule = GlobalSchedule([f"v{i}" for i in range(g)], q, seed)
    block = schedule.take(start, start + length)
    assert len(block) == length
    assert block == [schedule.take(i, i + 1)[0] for i in range(start, start + length)]
    assert all(len(item) == q for item in block)


@given(g=st.integers(1, 30), q=st.integers(1, 9), copies=st.integers(1, 5))
def test_every_global_appears_equally_often(g, q, copies) -> None:
    names = [f"v{i}" for i in range(g)]
    schedule = GlobalSchedule(names, q, seed=0)
    items = max(1, g * copies // q)
    counts = Counter(name for item in schedule.take(0, items) for name in item)
    assert sum(counts.values()) == items * q
    per_global = [counts[name] for name in names]
    assert max(per_global) - min(per_global) <= 1
    # Each copy is a permutation of all globals, and copies differ.
    first, second = schedule._copy(0), schedule._copy(1)
    assert sorted(first) == sorted(names) == sorted(second)
    if g > 3:
        assert first != second
