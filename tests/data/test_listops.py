"""ListOps generator: labels re-derived independently, bounds, uniqueness, determinism."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from lolameme.data.store import load_split, open_dataset
from lolameme.data.tasks import get_task, listops
from lolameme.data.tasks.listops import ListOpsConfig, generate_shard, listops_eval
from lolameme.errors import ConfigError, DataError

# ---------------------------------------------------------------- independent evaluator
# Written from the task definition only: Python's statistics.median truncated toward 0.
_REFERENCE = {
    "MIN": min,
    "MAX": max,
    "MED": lambda xs: int(statistics.median(xs)),
    "SM": lambda xs: sum(xs) % 10,
}


def _parse(tokens: list[str], i: int, level: int) -> tuple[dict, int]:
    """Recursive descent: returns (node, next index); node has value/depth/args/ops."""
    tok = tokens[i]
    if tok.isdigit():
        return {"value": int(tok), "depth": level, "ops": [], "nargs": []}, i + 1
    assert tok[0] == "[", tok
    children, i = [], i + 1
    while tokens[i] != "]":
        child, i = _parse(tokens, i, level + 1)
        children.append(child)
    node = {
        "value": _REFERENCE[tok[1:]]([c["value"] for c in children]),
        "depth": max(c["depth"] for c in children),
        "ops": [tok[1:]] + [op for c in children for op in c["ops"]],
        "nargs": [len(children)] + [n for c in children for n in c["nargs"]],
    }
    return node, i + 1


def reference(program: str) -> dict:
    tokens = program.split()
    node, end = _parse(tokens, 0, 1)
    assert end == len(tokens)
    return node


# ---------------------------------------------------------------- tests


def test_tree_sizes_by_enumeration() -> None:
    """Depth 3, 2..3 args: sizes enumerated by hand (1; op over 2-3 subtrees of 1 or 3-4)."""
    assert listops.tree_sizes(1, 5, 100) == [1]
    assert listops.tree_sizes(2, 3, 100) == [1, 3, 4]
    # children from {1, 3, 4}: 2 of them sum to 2,4,5,6,7,8; 3 of them to 3,5,...,12
    assert listops.tree_sizes(3, 3, 100) == [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert listops.tree_sizes(3, 3, 6) == [1, 3, 4, 5, 6]
    assert max(listops.tree_sizes(4, 4, 10_000)) == 1 + 4 + 16 + 64


def test_hand_examples() -> None:
    assert listops_eval("[MAX 2 9 [MIN 4 7 ] 0 ]") == 9
    assert listops_eval("[MED 3 8 ]") == 5  # (3 + 8) / 2 = 5.5 -> 5
    assert listops_eval("[MED 1 9 4 ]") == 4
    assert listops_eval("[SM 9 9 9 ]") == 7
    assert listops_eval(["[MIN", "7", "[SM", "5", "6", "]", "]"]) == 1
    assert listops_eval("8") == 8


@pytest.mark.parametrize(
    ("program", "match"),
    [
        ("[MAX 2 9", "incomplete"),
        ("[MAX 2 9 ] 3", "token 4"),
        ("[FOO 1 ]", "unknown operator"),
        ("[MAX ]", "no arguments"),
        ("[MAX 12 3 ]", "token 1"),
        ("]", "without an open"),
    ],
)
def test_malformed_programs_are_clear_errors(program: str, match: str) -> None:
    with pytest.raises(DataError, match=match):
        listops_eval(program)


def test_smoke_dataset_labels_bounds_and_uniqueness(
    build_task_dataset: Callable[..., Path],
) -> None:
    config = ListOpsConfig(**listops.PRESETS["smoke"])
    info = open_dataset(build_task_dataset("listops"))
    assert info.task == "listops" and info.format == "text"
    assert sorted(info.splits) == ["test", "train", "val"]
    seen: set[str] = set()
    for split, size in (("train", 200), ("val", 50), ("test", 50)):
        frame = load_split(info, split)
        assert len(frame) == size == info.rows(split)
        assert list(frame.columns) == ["program", "label", "depth", "n_tokens", "n_ops"]
        programs = list(frame["program"])
        assert len(set(programs)) == size, f"duplicates in {split}"
        assert not seen & set(programs), f"{split} shares items with an earlier split"
        seen |= set(programs)
        for row in frame.itertuples():
            ref = reference(row.program)
            tokens = row.program.split()
            assert row.label == str(ref["value"]) == str(listops_eval(row.program))
            assert row.n_tokens == sum(t != "]" for t in tokens)
            assert row.n_ops == sum(t.startswith("[") for t in tokens) == len(ref["ops"])
            assert config.min_length <= row.n_tokens <= config.max_length
            assert row.depth == ref["depth"] <= config.max_depth
            assert all(2 <= n <= config.max_args for n in ref["nargs"])


def test_labels_cover_all_operators_and_digits() -> None:
    """Enough variety that a wrong operator would show: every op and most labels occur."""
    items = generate_shard((ListOpsConfig(**listops.PRESETS["smoke"]), 0, 0))
    ops = {op for it in items for op in reference(it.program)["ops"]}
    assert ops == {"MIN", "MAX", "MED", "SM"}
    assert len({it.label for it in items}) == 10


@settings(max_examples=15, deadline=None)
@given(
    max_depth=st.integers(2, 5),
    max_args=st.integers(2, 6),
    min_length=st.integers(1, 12),
    span=st.integers(0, 40),
    operators=st.lists(st.sampled_from(["MIN", "MAX", "MED", "SM"]), min_size=1, unique=True),
    seed=st.integers(0, 2**31),
)
def test_every_knob_is_respected(
    max_depth: int, max_args: int, min_length: int, span: int, operators: list[str], seed: int
) -> None:
    fields = {
        "max_depth": max_depth,
        "max_args": max_args,
        "min_length": min_length,
        "max_length": min_length + span,
        "operators": operators,
        "p_operator": 0.4,
        "seed": seed,
    }
    possible = listops.tree_sizes(max_depth, max_args, min_length + span)
    if not any(size >= min_length for size in possible):
        with pytest.raises(ConfigError, match="no tree has"):
            ListOpsConfig(**fields)
        return
    config = ListOpsConfig(**fields)
    for item in generate_shard((config, 0, 0))[:100]:
        ref = reference(item.program)
        assert item.label == ref["value"]
        assert min_length <= item.n_tokens <= min_length + span
        assert item.depth == ref["depth"] <= max_depth
        assert set(ref["ops"]) <= set(operators)
        assert all(2 <= n <= max_args for n in ref["nargs"])


def test_workers_do_not_change_the_bytes(build_task_dataset: Callable[..., Path]) -> None:
    """Several generation shards (500 candidates each) so that two workers really split."""
    sizes = {"num_train": 1_300, "num_val": 300, "num_test": 600}
    one = open_dataset(build_task_dataset("listops", name="w1", workers=1, **sizes))
    two = open_dataset(build_task_dataset("listops", name="w2", workers=2, **sizes))
    assert one.manifest["sha256"] == two.manifest["sha256"]
    other = open_dataset(build_task_dataset("listops", name="s1", seed=1, **sizes))
    assert other.manifest["sha256"] != one.manifest["sha256"]


def test_duplicates_are_topped_up_then_exhaustion_is_an_error(
    build_task_dataset: Callable[..., Path],
) -> None:
    # [OP d d] only: 4 operators x 100 digit pairs = 400 distinct expressions.
    tiny = {"max_depth": 2, "max_args": 2, "min_length": 3, "max_length": 3}
    info = open_dataset(
        build_task_dataset("listops", num_train=300, num_val=40, num_test=40, **tiny)
    )
    programs = [p for s in info.splits for p in load_split(info, s)["program"]]
    assert len(programs) == len(set(programs)) == 380
    with pytest.raises(DataError, match="no more distinct"):
        build_task_dataset("listops", name="too-many", num_train=500, **tiny)


def test_hopeless_length_window_fails_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listops, "MAX_TRIES_PER_ITEM", 1)
    config = ListOpsConfig(max_depth=3, max_args=2, min_length=7, max_length=7, p_operator=0.01)
    with pytest.raises(DataError, match="widen the length window"):
        generate_shard((config, 0, 0))


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"min_length": 50, "max_length": 10}, "min_length \\(50\\) > max_length \\(10\\)"),
        ({"max_depth": 2, "max_args": 3, "min_length": 5}, "no tree has 5..60 .*: 1, 3, 4\\)"),
        ({"p_operator": 0.0, "min_length": 2}, "no tree has 2..60 .*: 1\\)"),
        ({"max_depth": 2, "max_args": 2, "min_length": 2, "max_length": 2}, "no tree has 2..2"),
        ({"operators": []}, "at least one"),
        ({"operators": ["MIN", "MIN"]}, "duplicates"),
    ],
)
def test_impossible_configs_are_clear_errors(fields: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ListOpsConfig(**fields)


def test_unknown_or_bad_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="max_dept"):
        ListOpsConfig(max_dept=3)
    with pytest.raises(ValidationError, match="operators"):
        ListOpsConfig(operators=["FIRST"])


def test_global_rngs_are_untouched(build_task_dataset: Callable[..., Path]) -> None:
    np_state, py_state = np.random.get_state(), random.getstate()
    build_task_dataset("listops")
    after = np.random.get_state()
    assert np_state[0] == after[0] and (np_state[1] == after[1]).all() and np_state[2] == after[2]
    assert random.getstate() == py_state


def test_registered_with_presets() -> None:
    task = get_task("listops")
    assert task.format == "text" and task.default_preset in task.presets
    for preset in task.presets.values():
        ListOpsConfig(**preset)  # every preset is a valid config
    lra = ListOpsConfig(**task.presets["listops-lra"])
    assert (lra.max_depth, lra.max_args, lra.min_length, lra.max_length) == (10, 10, 501, 1999)
    assert (lra.num_train, lra.num_val, lra.num_test) == (96_000, 2_000, 2_000)
