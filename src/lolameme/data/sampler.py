"""One LoLa/MeMe item: a program drawn statement by statement, its label and metadata.

The program is built as an AST (``lolameme.languages.ast``), rendered and labelled by
the languages package; nothing is parsed back. Appendix D.1 and LANGUAGE.md section 4
fix the process:

- each statement gets a depth: 0 (a plain assignment ``a = 5``, ``a = b``) with
  probability PLAIN_ASSIGNMENT_SHARE, else uniform in [EXPRESSION_MIN_DEPTH,
  EXPRESSION_MAX_DEPTH]; a depth-d expression is a chain of d brackets such as
  ``(a + (b * c))`` (D.1.4), the deeper side left or right at random, so it has d + 1
  leaves;
- a leaf is a literal with probability CONSTANT_SHARE, else a variable drawn uniformly
  from the locals already assigned in this item and the globals the split allows
  ("tracked local variables, global variables, constants", D.1.5); a local is never
  read before it is assigned;
- in train a plain statement assigns, with probability GLOBAL_ASSIGNMENT_SHARE, a global
  its own value (never another value); otherwise targets are drawn from the local pool;
- the item prints one of the locals it assigned.

Two extra rules make the split guarantees hold by construction: ``mandatory`` globals
(the training schedule of :func:`~lolameme.data.config.global_schedule`) fill randomly
chosen leaf slots, and with NOISE_SHARE set the statements are given roles up front
(see :meth:`ItemSampler._controlled`).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lolameme.data.config import (
    TEST_SPLITS,
    GlobalsMode,
    Language,
    LolamemeConfig,
    latent_config,
    noise_count,
    operator_set,
)
from lolameme.data.names import NameTables
from lolameme.languages import (
    Assign,
    BinOp,
    ModuloByZeroError,
    Num,
    Op,
    Program,
    Var,
    evaluate,
    render,
)
from lolameme.languages.render import LOLA_OPS

# The columns of a LoLa/MeMe split, in order (see docs/data.md for their meaning).
COLUMNS = (
    "program",
    "label",
    "language",
    "n_statements",
    "max_depth",
    "globals_used",
    "global_names",
    "noise_statements",
    "dependency_depth",
    "latent_mods",
    "slice_globals",
    "n_chars",
)
_SYMBOL_TO_OP = {symbol: op for op, symbol in LOLA_OPS.items()}
_NUM_CACHE_LIMIT = 1 << 16


@dataclass(frozen=True)
class SplitPolicy:
    """What a split allows: how globals are used and which language its items are in."""

    name: str
    globals_mode: GlobalsMode
    language: Language

    @classmethod
    def for_split(cls, config: LolamemeConfig, split: str) -> SplitPolicy:
        if split == "train":
            return cls("train", "train" if config.globalvar_count else "none", config.language)
        mode, language = TEST_SPLITS[split]
        return cls(split, mode, language or config.language)


def canonical_hash(lola_text: str) -> int:
    """A stable 64-bit key of a program's LoLa text (identity across dialects and runs)."""
    return int.from_bytes(hashlib.blake2b(lola_text.encode(), digest_size=8).digest(), "little")


class ItemSampler:
    """Draws items of one data set. Holds only precomputed tables; all randomness comes
    from the ``random.Random`` passed to :meth:`draw`."""

    def __init__(self, config: LolamemeConfig, names: NameTables) -> None:
        self.n = config.statement_count
        self.dmin, self.dmax = config.expression_min_depth, config.expression_max_depth
        self.plain = config.plain_assignment_share
        self.p_global_assign = config.global_assignment_share
        self.constant_share = config.constant_share
        self.meme_share = config.meme_share
        self.noise = noise_count(config)
        self.latent = latent_config(config)
        self.gvalues = dict(names.globals)
        self.globals = tuple(names.globals)
        self.gset = frozenset(self.globals)
        self.locals = names.locals
        self.var = {name: Var(name) for name in (*self.globals, *self.locals)}
        self.modified = frozenset(
            name
            for name in self.var
            if not self.latent.modification(self.latent.type_of(name)).is_identity
        )
        self.int_min, self.int_span = config.min_int_value, config.max_int_value + 1
        self.int_span -= self.int_min
        self.nums: list[Num] | None = None
        if self.int_span <= _NUM_CACHE_LIMIT:
            self.nums = [Num(self.int_min + i) for i in range(self.int_span)]
        self.ops = {
            dialect: tuple(_SYMBOL_TO_OP[s] for s in operator_set(config, dialect))
            for dialect in ("lola", "meme", "module_mix")
        }
        self.rejected: Counter[str] = Counter()  # why draws were repeated, for error messages

    # -- public ---------------------------------------------------------------------
    def draw(
        self, rng: random.Random, policy: SplitPolicy, mandatory: Sequence[str] = ()
    ) -> tuple[int, tuple] | None:
        """One item as ``(canonical_hash, row)`` (row in :data:`COLUMNS` order), or None
        when the draw must be repeated (a modulo by zero, or no usable output)."""
        rnd = rng.random
        language = policy.language
        if language == "sample_mix":
            dialect = "meme" if rnd() < self.meme_share else "lola"
        else:
            dialect = language
        ops = self.ops[dialect]
        mode = policy.globals_mode
        if self.noise is None:
            built = self._natural(rng, mode, ops, mandatory)
        else:
            built = self._controlled(rng, mode, ops, mandatory, self.noise)
        if built is None:
            self.rejected["no free local for a target (LOCAL_VAR_COUNT too small)"] += 1
            return None
        targets, values, reads, depths, output = built
        facts = self._describe(targets, reads, depths, mode, output, rnd)
        if facts is None:
            self.rejected["no printable local whose value needs a global"] += 1
            return None
        output, noise, dep_depth, slice_globals, global_names, latent = facts
        program = Program(tuple(map(Assign, targets, values)), output)
        try:
            label = str(evaluate(program, self.gvalues, self.latent))
        except ModuloByZeroError:
            self.rejected["modulo by zero"] += 1
            return None
        lola = render(program, "lola")
        if dialect == "lola":
            text = lola
        elif dialect == "meme":
            text = render(program, "meme")
        else:
            text = render(program, "module_mix", rng=rng, p_meme=self.meme_share)
        row = (
            text,
            label,
            dialect,
            self.n,
            max(depths),
            len(global_names),
            global_names,
            noise,
            dep_depth,
            latent,
            slice_globals,
            len(text),
        )
        return canonical_hash(lola), row

    # -- structure ------------------------------------------------------------------
    def _depths(self, rnd: Callable[[], float], slots_needed: int) -> list[int]:
        """Statement depths; deepened one step at a time (at random statements) when the
        item must hold more leaf slots than drawn (a heavy global schedule)."""
        dmin, span, plain = self.dmin, self.dmax - self.dmin + 1, self.plain
        depths = [0 if rnd() < plain else dmin + int(rnd() * span) for _ in range(self.n)]
        total = sum(depths) + self.n
        while total < slots_needed:
            shallow = [j for j, d in enumerate(depths) if d < self.dmax]
            j = shallow[int(rnd() * len(shallow))]
            new = max(self.dmin, 1) if depths[j] == 0 else depths[j] + 1
            total += new - depths[j]
            depths[j] = new
        return depths

    def _const(self, rnd: Callable[[], float]) -> Num:
        index = int(rnd() * self.int_span)
        return self.nums[index] if self.nums is not None else Num(self.int_min + index)

    def _own_value(self, name: str) -> Num:
        value = self.gvalues[name]
        return self.nums[value - self.int_min] if self.nums is not None else Num(value)

    def _natural(
        self,
        rng: random.Random,
        mode: GlobalsMode,
        ops: tuple[Op, ...],
        mandatory: Sequence[str],
    ) -> tuple | None:
        """The paper's process: statements one by one; noise is whatever is not needed.

        The hot path of the generator, hence inlined leaf drawing and pre-bound names.
        """
        rnd = rng.random
        n = self.n
        if mode == "recall" and not mandatory:
            # One global in a random leaf, so that even with few variable leaves
            # (CONSTANT_SHARE near 1) some local's value depends on a global to recall.
            mandatory = (self.globals[int(rnd() * len(self.globals))],)
        depths = self._depths(rnd, len(mandatory))
        total = sum(depths) + n
        mand: dict[int, str] = {}
        for name in mandatory:
            while True:
                slot = int(rnd() * total)
                if slot not in mand:
                    mand[slot] = name
                    break
        mand_get = mand.get
        globals_ = self.globals
        n_globals = len(globals_) if mode != "none" else 0
        locals_, n_locals = self.locals, len(self.locals)
        p_assign = self.p_global_assign if mode == "train" and n_globals else 0.0
        cshare, var, nops = self.constant_share, self.var, len(ops)
        nums, int_min, int_span = self.nums, self.int_min, self.int_span
        assigned: list[str] = []
        targets: list[str] = []
        values: list = []
        reads_of: list[list[str]] = []
        slot = 0
        for j in range(n):
            d = depths[j]
            reads: list[str] = []
            if d == 0 and p_assign and (assigned or j < n - 1) and rnd() < p_assign:
                target = mand_get(slot) or globals_[int(rnd() * n_globals)]
                slot += 1
                targets.append(target)
                values.append(self._own_value(target))
                reads_of.append(reads)
                continue
            leaves = []
            for _ in range(d + 1):
                name = mand_get(slot)
                slot += 1
                if name is None:
                    k = len(assigned) + n_globals
                    if k == 0 or rnd() < cshare:
                        index = int(rnd() * int_span)
                        leaves.append(nums[index] if nums else Num(int_min + index))
                        continue
                    r = int(rnd() * k)
                    name = assigned[r] if r < len(assigned) else globals_[r - len(assigned)]
                reads.append(name)
                leaves.append(var[name])
            value = leaves[0]
            for other in leaves[1:]:
                op = ops[int(rnd() * nops)]
                value = BinOp(op, value, other) if rnd() < 0.5 else BinOp(op, other, value)
            target = locals_[int(rnd() * n_locals)]
            targets.append(target)
            values.append(value)
            reads_of.append(reads)
            if target not in assigned:
                assigned.append(target)
        return targets, values, reads_of, depths, None

    def _controlled(
        self,
        rng: random.Random,
        mode: GlobalsMode,
        ops: tuple[Op, ...],
        mandatory: Sequence[str],
        k: int,
    ) -> tuple | None:
        """Exactly ``k`` noise statements: roles are fixed before any name is drawn.

        ``k`` random positions are noise, the rest is the slice. Each slice statement but
        the last is planned to be read by one leaf of a later slice statement (drawn
        backwards, so a free leaf always exists); until that read its target is
        *pending* and nothing may overwrite it. Noise statements write only locals that
        are not pending and mark them *tainted*; slice statements never read a tainted
        name. So the last slice statement's target, printed, depends on every slice
        statement and on no noise statement.
        """
        rnd = rng.random
        n = self.n
        m = n - k
        recall = mode == "recall"
        depths = self._depths(rnd, len(mandatory) + (m - 1) + recall)
        starts = [0] * n
        for j in range(1, n):
            starts[j] = starts[j - 1] + depths[j - 1] + 1
        total = starts[-1] + depths[-1] + 1
        noise_at = set(rng.sample(range(n), k)) if k else set()
        signals = [j for j in range(n) if j not in noise_at]
        feeds: dict[int, int] = {}  # leaf slot -> slice statement whose target it reads
        for s in range(m - 2, -1, -1):
            free = [
                slot
                for later in signals[s + 1 :]
                for slot in range(starts[later], starts[later] + depths[later] + 1)
                if slot not in feeds
            ]
            feeds[free[int(rnd() * len(free))]] = signals[s]
        mand: dict[int, str] = {}
        if recall:  # the printed value must depend on a global the model has to recall
            free = [
                slot
                for j in signals
                for slot in range(starts[j], starts[j] + depths[j] + 1)
                if slot not in feeds
            ]
            mand[free[int(rnd() * len(free))]] = self.globals[int(rnd() * len(self.globals))]
        for name in mandatory:
            while True:
                slot = int(rnd() * total)
                if slot not in feeds and slot not in mand:
                    mand[slot] = name
                    break

        globals_ = self.globals
        n_globals = len(globals_) if mode != "none" else 0
        p_assign = self.p_global_assign if mode == "train" and n_globals else 0.0
        cshare, var, nops = self.constant_share, self.var, len(ops)
        assigned: list[str] = []
        pending: set[str] = set()
        tainted: set[str] = set()
        target_of: dict[int, str] = {}
        targets: list[str] = []
        values: list = []
        reads_of: list[list[str]] = []
        last_signal = signals[-1]

        for j in range(n):
            d = depths[j]
            is_signal = j not in noise_at
            reads: list[str] = []
            slot = starts[j]

            def leaf(slot: int, reads: list[str] = reads, is_signal: bool = is_signal) -> Var | Num:
                producer = feeds.get(slot)
                if producer is not None:
                    name = target_of[producer]
                    pending.discard(name)
                else:
                    name = mand.get(slot)
                if name is None:
                    if rnd() < cshare:
                        return self._const(rnd)
                    pool = [x for x in assigned if x not in tainted] if is_signal else assigned
                    k = len(pool) + n_globals
                    if k == 0:
                        return self._const(rnd)
                    r = int(rnd() * k)
                    name = pool[r] if r < len(pool) else globals_[r - len(pool)]
                reads.append(name)
                return var[name]

            target = None
            if d == 0:
                owned = mand.get(slot)
                if (
                    is_signal
                    and j != last_signal
                    and p_assign
                    and slot not in feeds
                    and rnd() < p_assign
                ):
                    candidate = owned or globals_[int(rnd() * n_globals)]
                    if candidate not in pending:
                        target, value = candidate, self._own_value(candidate)
                if target is None:
                    value = leaf(slot)
            else:
                value = leaf(slot)
                for i in range(1, d + 1):
                    other = leaf(slot + i)
                    op = ops[int(rnd() * nops)]
                    value = BinOp(op, value, other) if rnd() < 0.5 else BinOp(op, other, value)
            if target is None:
                free_locals = [x for x in self.locals if x not in pending]
                if not free_locals:
                    return None
                target = free_locals[int(rnd() * len(free_locals))]
            if is_signal:
                pending.add(target)
                tainted.discard(target)
                target_of[j] = target
            else:
                tainted.add(target)
            targets.append(target)
            values.append(value)
            reads_of.append(reads)
            if target not in self.gset and target not in assigned:
                assigned.append(target)
        return targets, values, reads_of, depths, target_of[last_signal]

    # -- metadata -------------------------------------------------------------------
    def _describe(
        self,
        targets: list[str],
        reads_of: list[list[str]],
        depths: list[int],
        mode: GlobalsMode,
        output: str | None,
        rnd: Callable[[], float],
    ) -> tuple | None:
        """Def-use facts of the program; picks the output when the builder did not.

        A statement depends on the statements that last assigned the names it reads; the
        dependency slice of the output is the closure of those edges from the output's
        last assignment. A global read with no assignment before it in the item is a
        *recall* read (its value must come from memory).
        """
        gset, modified = self.gset, self.modified
        last_def: dict[str, int] = {}
        deps_of: list[list[int]] = []
        chain: list[int] = []
        recalls: list[int] = []
        needs_recall: list[bool] = []
        global_names: list[str] = []
        latent = 0
        for j, target in enumerate(targets):
            if target in gset:
                global_names.append(target)
            deps: list[int] = []
            recall = 0
            longest = 0
            operand = depths[j] > 0
            for name in reads_of[j]:
                if operand and name in modified:
                    latent += 1
                where = last_def.get(name)
                if where is None:
                    if name in gset:
                        global_names.append(name)
                        recall += 1
                    continue
                if name in gset:
                    global_names.append(name)
                if where not in deps:
                    deps.append(where)
                    if chain[where] > longest:
                        longest = chain[where]
            deps_of.append(deps)
            chain.append(longest + 1)
            recalls.append(recall)
            if mode == "recall":
                needs = recall > 0
                for i in deps:
                    needs = needs or needs_recall[i]
                needs_recall.append(needs)
            last_def[target] = j
        if output is None:
            candidates = [t for t in dict.fromkeys(targets) if t not in gset]
            if mode == "recall":
                candidates = [t for t in candidates if needs_recall[last_def[t]]]
            if not candidates:
                return None
            output = candidates[int(rnd() * len(candidates))]
        top = last_def[output]
        in_slice = {top}
        stack = [top]
        slice_globals = recalls[top]
        while stack:
            for dep in deps_of[stack.pop()]:
                if dep not in in_slice:
                    in_slice.add(dep)
                    stack.append(dep)
                    slice_globals += recalls[dep]
        if mode == "recall" and not slice_globals:
            return None
        return (
            output,
            len(targets) - len(in_slice),
            chain[top],
            slice_globals,
            global_names,
            latent,
        )
