"""ListOps (Nangia & Bowman 2018; the LRA benchmark's version): nested list operations.

An item is a prefix expression such as ``[MAX 2 9 [MIN 4 7 ] 0 ]`` whose value is one
digit; the model reads the expression and must produce that digit (exact match, as
for LoLa/MeMe). Operators: ``MIN``, ``MAX``, ``MED`` (median; an even number of
arguments averages the two middle values and truncates toward zero, which for
digits is ``(a + b) // 2``) and ``SM`` (sum modulo 10). Leaves are the digits 0-9.

Tree shape (as LRA's generator): a node at depth ``d < max_depth`` is an operator
with probability ``p_operator`` and otherwise a digit; nodes at ``max_depth`` are
digits; an operator takes 2..``max_args`` arguments and its name is drawn uniformly
from ``operators``. The root is at depth 1.

Length: ``n_tokens`` counts operators and digits, NOT the closing brackets ``]``
(the opening bracket is part of the operator token ``[MAX``), so the whitespace
token count of the text is ``n_tokens + n_ops``. Items are kept only if
``min_length <= n_tokens <= max_length``.

Speed: trees are drawn by a recursive sampler that consumes pre-drawn uniforms of a
per-shard ``np.random.default_rng([seed, split_id, shard])``, evaluates every
operator as soon as its arguments are known, and aborts a tree the moment it grows
past ``max_length`` (rejection sampling never finishes a tree it will throw away).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lolameme.data.pool import OrderedMap, shard_count, shard_map
from lolameme.data.store import arrow_table
from lolameme.data.tasks import Task
from lolameme.errors import ConfigError, DataError

OperatorName = Literal["MIN", "MAX", "MED", "SM"]


def _median(args: Sequence[int]) -> int:
    ordered = sorted(args)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return int((ordered[mid - 1] + ordered[mid]) / 2)  # average, truncated toward zero


# The one definition of the operators, shared by the generator and listops_eval.
OPERATORS: dict[str, Callable[[Sequence[int]], int]] = {
    "MIN": min,
    "MAX": max,
    "MED": _median,
    "SM": lambda args: sum(args) % 10,
}

# Split name -> seed component: a split's candidate stream never depends on the others.
SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
# Splits are drawn test first so that test is never shaped by train: each later split
# skips items already taken, so the three are disjoint and test keeps its own draw.
_DRAW_ORDER = ("test", "val", "train")
SHARD_ITEMS = 500  # candidates per generation shard (fixed: output must not vary with workers)
ROWS_PER_FILE = 20_000  # rows per output Parquet file
# A shard gives up (an error, not a hang) after this many trees per wanted item.
MAX_TRIES_PER_ITEM = 2_000


class ListOpsConfig(BaseModel):
    """One ListOps data set. Lengths count operators and digits, not brackets."""

    model_config = ConfigDict(extra="forbid")

    max_depth: int = Field(4, ge=1, le=50, description="node levels, root = 1, leaves included")
    max_args: int = Field(5, ge=2, description="most arguments of one operator (least is 2)")
    min_length: int = Field(10, ge=1, description="fewest operators + digits (inclusive)")
    max_length: int = Field(60, ge=1, le=10_000, description="most operators + digits (incl.)")
    p_operator: float = Field(0.25, ge=0.0, le=1.0, description="P(node is an operator)")
    operators: list[OperatorName] = Field(default_factory=lambda: ["MIN", "MAX", "MED", "SM"])
    num_train: int = Field(20_000, ge=1)
    num_val: int = Field(1_000, ge=1)
    num_test: int = Field(1_000, ge=1)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> ListOpsConfig:
        if self.min_length > self.max_length:
            raise ConfigError(
                f"listops: min_length ({self.min_length}) > max_length ({self.max_length})"
            )
        if not self.operators:
            raise ConfigError("listops: operators must name at least one of MIN, MAX, MED, SM")
        if len(set(self.operators)) != len(self.operators):
            raise ConfigError(f"listops: operators has duplicates: {self.operators}")
        sizes = tree_sizes(
            self.max_depth, self.max_args if self.p_operator > 0 else 1, self.max_length
        )
        if not any(self.min_length <= size for size in sizes):
            shown = ", ".join(map(str, sizes[-5:]))
            raise ConfigError(
                f"listops: no tree has {self.min_length}..{self.max_length} operators + digits "
                f"with max_depth={self.max_depth}, max_args={self.max_args}, "
                f"p_operator={self.p_operator} (largest possible sizes <= max_length: {shown})"
            )
        return self


def tree_sizes(max_depth: int, max_args: int, limit: int) -> list[int]:
    """Every possible count of operators + digits up to ``limit``, in increasing order.

    Not every count exists (an operator has at least 2 arguments, so no tree has 2
    nodes), and a config whose length window holds none would reject forever. Sizes are
    bit sets (bit ``s`` set = size ``s`` possible), built from the leaves up: a node one
    level higher is a digit or an operator over 2..max_args subtrees. ``max_args=1``
    stands for "no operators".
    """
    mask = (1 << (limit + 1)) - 1
    level = 1 << 1  # the deepest level holds digits only
    for _ in range(max_depth - 1):
        children, operators = level, 0
        for _ in range(2, max_args + 1):
            children = _sumset(children, level, mask)
            operators |= children
        higher = (1 << 1) | ((operators << 1) & mask)
        if higher == level:  # saturated below the limit: deeper trees add no new size
            break
        level = higher
    return [size for size in range(limit + 1) if level >> size & 1]


def _sumset(a: int, b: int, mask: int) -> int:
    """{x + y : x in a, y in b} for bit sets, truncated to ``mask``."""
    out = 0
    while b:
        low = b & -b
        out |= a << (low.bit_length() - 1)
        b ^= low
    return out & mask


# ---------------------------------------------------------------------------- labels


def listops_eval(program: str | Sequence[str]) -> int:
    """The value of a ListOps expression (text or whitespace tokens); the task's label.

    Pure and independent of the generator's bookkeeping: evaluation code and tests can
    score any expression with it. Raises :class:`DataError` naming the token position
    of the first problem.
    """
    tokens = program.split() if isinstance(program, str) else list(program)
    stack: list[tuple[str, list[int]]] = []
    result: int | None = None
    for pos, tok in enumerate(tokens):
        if result is not None:
            raise DataError(f"listops: token {pos} ({tok!r}) after the end of the expression")
        if tok.startswith("["):
            if tok[1:] not in OPERATORS:
                raise DataError(f"listops: token {pos}: unknown operator {tok!r}")
            stack.append((tok[1:], []))
            continue
        if tok == "]":
            if not stack:
                raise DataError(f"listops: token {pos}: ']' without an open operator")
            op, args = stack.pop()
            if not args:
                raise DataError(f"listops: token {pos}: operator {op} has no arguments")
            value = OPERATORS[op](args)
        elif len(tok) == 1 and tok.isdigit():
            value = int(tok)
        else:
            raise DataError(f"listops: token {pos}: {tok!r} is neither [OP, ']' nor a digit")
        if stack:
            stack[-1][1].append(value)
        else:
            result = value
    if result is None:
        raise DataError("listops: incomplete expression (unclosed operator or empty)")
    return result


# ---------------------------------------------------------------------------- sampling


class Item(NamedTuple):
    program: str
    label: int
    depth: int  # node levels of the tree (a lone digit is 1), <= max_depth
    n_tokens: int  # operators + digits (closing brackets not counted)
    n_ops: int
    digest: bytes  # of the program, for de-duplication


class _TooLong(Exception):
    """Raised inside the sampler to abandon a tree as soon as it passes max_length."""


def _uniforms(rng: np.random.Generator, block: int = 8192) -> Callable[[], float]:
    """A fast ``next()`` over uniform [0, 1) floats drawn from ``rng`` in blocks."""

    def stream() -> Iterator[float]:
        while True:
            yield from rng.random(block).tolist()

    return stream().__next__


def _tree_sampler(config: ListOpsConfig, rand: Callable[[], float]) -> Callable[[], Item | None]:
    """Return ``sample()``: one tree within the length bounds, or ``None`` (rejected)."""
    max_depth, max_len, p_op = config.max_depth, config.max_length, config.p_operator
    ops = [(f"[{name}", OPERATORS[name]) for name in config.operators]
    n_op_names, n_arg_choices = len(ops), config.max_args - 1
    digits = [str(d) for d in range(10)]

    def sample() -> Item | None:
        out: list[str] = []
        nodes = [0, 0]  # [operators + digits so far, operators so far]

        def node(depth: int) -> tuple[int, int]:
            """Append one subtree to ``out``; return (its value, its deepest level)."""
            nodes[0] += 1
            if nodes[0] > max_len:
                raise _TooLong
            if depth >= max_depth or rand() >= p_op:
                value = int(rand() * 10)
                out.append(digits[value])
                return value, depth
            token, fn = ops[int(rand() * n_op_names)]
            nodes[1] += 1
            out.append(token)
            args, deepest = [], depth
            for _ in range(2 + int(rand() * n_arg_choices)):
                value, level = node(depth + 1)
                args.append(value)
                if level > deepest:
                    deepest = level
            out.append("]")
            return fn(args), deepest

        try:
            value, depth = node(1)
        except _TooLong:
            return None
        if nodes[0] < config.min_length:
            return None
        program = " ".join(out)
        digest = hashlib.blake2b(program.encode(), digest_size=16).digest()
        return Item(program, value, depth, nodes[0], nodes[1], digest)

    return sample


def generate_shard(job: tuple[ListOpsConfig, int, int]) -> list[Item]:
    """``SHARD_ITEMS`` accepted trees of shard ``shard`` of split ``split_id`` (may repeat).

    Runs in a worker; everything it draws comes from its own seeded Generator.
    """
    config, split_id, shard = job
    rng = np.random.default_rng([config.seed, split_id, shard])
    sample = _tree_sampler(config, _uniforms(rng))
    items: list[Item] = []
    budget = MAX_TRIES_PER_ITEM * SHARD_ITEMS
    while len(items) < SHARD_ITEMS:
        if budget == 0:
            raise DataError(
                f"listops: fewer than 1 in {MAX_TRIES_PER_ITEM} trees has "
                f"{config.min_length}..{config.max_length} operators + digits with "
                f"max_depth={config.max_depth}, max_args={config.max_args}, "
                f"p_operator={config.p_operator}; widen the length window"
            )
        budget -= 1
        item = sample()
        if item is not None:
            items.append(item)
    return items


# ---------------------------------------------------------------------------- build


def _frame(items: list[Item]) -> Any:
    import pyarrow as pa

    schema = pa.schema(
        [
            ("program", pa.string()),
            ("label", pa.string()),
            ("depth", pa.int32()),
            ("n_tokens", pa.int32()),
            ("n_ops", pa.int32()),
        ]
    )
    columns = [
        [it.program for it in items],
        [str(it.label) for it in items],
        [it.depth for it in items],
        [it.n_tokens for it in items],
        [it.n_ops for it in items],
    ]
    return arrow_table(columns, schema)


def _build_split(
    config: ListOpsConfig,
    split: str,
    rows: int,
    taken: set[bytes],
    writer: Any,
    pmap: OrderedMap,
) -> None:
    """Draw shards in order, keep unseen items until ``rows``, write them in files.

    De-duplication walks the shards in index order, so it is the same for any worker
    count; when duplicates leave the split short, further shards (next indices) top up.
    """
    kept: list[Item] = []
    count, next_shard, file_index = 0, 0, 0
    while count < rows:
        shards = range(next_shard, next_shard + shard_count(rows - count, SHARD_ITEMS))
        next_shard = shards.stop
        before = count
        for items in pmap(generate_shard, [(config, SPLIT_IDS[split], s) for s in shards]):
            for item in items:
                if count == rows or item.digest in taken:
                    continue
                taken.add(item.digest)
                kept.append(item)
                count += 1
                if len(kept) == ROWS_PER_FILE:
                    writer.write_shard(split, file_index, _frame(kept))
                    file_index, kept = file_index + 1, []
        if count == before:
            raise DataError(
                f"listops: split '{split}' stops at {count} of {rows} items: the config "
                "allows no more distinct expressions; lower the sizes or widen the lengths"
            )
    if kept or file_index == 0:
        writer.write_shard(split, file_index, _frame(kept))


def build(config: ListOpsConfig, writer: Any, workers: int) -> dict[str, Any]:
    """Write train/val/test (text format); splits are disjoint and unique within."""
    sizes = {"train": config.num_train, "val": config.num_val, "test": config.num_test}
    taken: set[bytes] = set()
    most_shards = max(shard_count(rows, SHARD_ITEMS) for rows in sizes.values())
    with shard_map(min(workers, most_shards)) as pmap:  # no idle workers to start
        for split in _DRAW_ORDER:
            _build_split(config, split, sizes[split], taken, writer, pmap)
    return {
        "split_order": ["train", "val", "test"],
        "globals": None,
        "extra": {"label_space": [str(d) for d in range(10)]},
    }


PRESETS: dict[str, dict[str, Any]] = {
    "listops-lra": {
        "max_depth": 10,
        "max_args": 10,
        "min_length": 501,
        "max_length": 1999,
        "num_train": 96_000,
        "num_val": 2_000,
        "num_test": 2_000,
    },
    "listops-small": {
        "max_depth": 4,
        "max_args": 5,
        "min_length": 10,
        "max_length": 60,
        "num_train": 20_000,
        "num_val": 1_000,
        "num_test": 1_000,
    },
    "smoke": {
        "max_depth": 3,
        "max_args": 4,
        "min_length": 5,
        "max_length": 30,
        "num_train": 200,
        "num_val": 50,
        "num_test": 50,
    },
}

TASK = Task(
    name="listops",
    description="ListOps: nested MIN/MAX/MED/SM expressions over digits; label = one digit",
    format="text",
    config_cls=ListOpsConfig,
    presets=PRESETS,
    build=build,
    default_preset="listops-small",
    notes={
        "listops-lra": "LRA's setting: depth 10, 10 args, 500 < length < 2000, 96k/2k/2k",
        "listops-small": "short expressions for CPU runs: depth 4, 5 args, 10..60, 20k/1k/1k",
        "smoke": "a few hundred tiny items for smoke tests",
    },
)
