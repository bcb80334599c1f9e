"""Finding cross-shard duplicates: every later copy of a program hash, none of the firsts."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lolameme.data.tasks.lolameme.generator import later_copies


@given(
    values=st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 6), max_size=300),
    chunk=st.integers(1, 50),
)
def test_later_copies_are_every_repeat_after_the_first(values, chunk) -> None:
    hashes = np.array(values, dtype=np.uint64)
    seen: set[int] = set()
    expected = []
    for position, value in enumerate(values):
        if value in seen:
            expected.append(position)
        seen.add(value)
    later, ordered = later_copies(hashes, chunk=chunk)
    assert later.tolist() == expected
    assert ordered.tolist() == sorted(values)
