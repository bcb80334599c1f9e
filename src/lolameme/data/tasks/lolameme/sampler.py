"""One LoLa/MeMe item: a program drawn statement by statement, its label and metadata.

LoLa and MeMe text and the label are written and computed by :meth:`ItemSampler._realise`
under the interpreter's rules; only module-mixed items are built as an AST and rendered by
``lolameme.languages.render``. The languages package is the reference the data tests and
``lolameme data verify`` check every item against; nothing is parsed back. Appendix D.1
and docs/languages.md section 4 fix the process:

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
(the training schedule of :func:`~.config.global_schedule`) fill randomly
chosen leaf slots, and with NOISE_SHARE set the statements are given roles up front
(see :meth:`ItemSampler._controlled`).

Where a C compiler exists, setup.py also compiles this module with Cython, with the C
types of ``sampler.pxd`` (see :mod:`lolameme.data.tasks.lolameme.compiled`). The methods typed there
must stay free of closures (generator expressions, lambdas, nested functions).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lolameme.data.tasks.lolameme.config import (
    TEST_SPLITS,
    GlobalsMode,
    Language,
    LolamemeConfig,
    latent_config,
    noise_count,
    operator_set,
)
from lolameme.data.tasks.lolameme.names import NameTables
from lolameme.languages import Assign, BinOp, Expr, Num, Op, Program, Var, render, to_meme_name
from lolameme.languages.render import LOLA_OPS, MEME_OPS

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
_NUM_CACHE_LIMIT = 1 << 16  # literal ranges up to this size get prebuilt leaves
# Operator codes of the evaluator in :meth:`ItemSampler._realise`.
_ADD, _SUB, _MUL, _MOD = range(4)
_CODE = {Op.ADD: _ADD, Op.SUB: _SUB, Op.MUL: _MUL, Op.MOD: _MOD}

# A leaf as the builders hand it to ``ItemSampler._realise``: a local's name (its value
# is known only when the statement runs), or a fixed leaf (a literal or a global) with
# everything about it precomputed: (LoLa text, MeMe text, stored value, operand value,
# 1 if its latent modification is not the identity, the global's name or None, AST node).
FixedLeaf = tuple[str, str, int, int, int, str | None, Expr]
Leaf = str | FixedLeaf
# A join: the operator (code, LoLa symbol, MeMe symbol, Op) and whether the chain so far
# stands on its left. A statement: target, leaves, and one join per leaf after the first.
OpEntry = tuple[int, str, str, Op]
Join = tuple[OpEntry, bool]
Statement = tuple[str, list[Leaf], list[Join]]


def _joins(op: Op) -> tuple[Join, Join]:
    """The two joins of ``op``: the chain so far on the right, and on the left."""
    entry = (_CODE[op], LOLA_OPS[op], MEME_OPS[op], op)
    return (entry, False), (entry, True)


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


class _Draft:
    """One item while it is drawn: its text, values and def-use facts, statement by
    statement.

    It holds the LoLa text (the item's identity), the MeMe text of a MeMe item, the AST
    of a module-mixed item (rendered at the end, because its dialect draws come after
    the output's), the stored values, and what :meth:`ItemSampler._close` needs: a
    statement depends on the statements that last assigned the names it reads; a global
    read with no assignment before it in the item is a *recall* read (its value must
    come from memory).
    """

    __slots__ = (
        "chain",
        "deps_of",
        "env",
        "global_names",
        "last_def",
        "latent",
        "lola",
        "meme",
        "needs_recall",
        "nodes",
        "recalls",
        "zero",
    )

    def __init__(self, dialect: str, recall_mode: bool) -> None:
        self.lola: list[str] = []
        self.meme: list[str] | None = [] if dialect == "meme" else None
        self.nodes: list[Expr] | None = [] if dialect == "module_mix" else None
        self.env: dict[str, int] = {}  # name -> stored value after the last statement
        self.zero = False  # some statement took a modulo by zero: the item is void
        self.last_def: dict[str, int] = {}  # name -> statement that last assigned it
        self.deps_of: list[list[int]] = []  # statement -> statements it reads from
        self.chain: list[int] = []  # statement -> longest dependency chain ending there
        self.recalls: list[int] = []  # statement -> its recall reads
        # statement -> whether its value depends on a recall read (recall splits only)
        self.needs_recall: list[bool] | None = [] if recall_mode else None
        self.global_names: list[str] = []  # every global occurrence, in text order
        self.latent = 0  # variable operands whose latent modification is not the identity


class ItemSampler:
    """Draws items of one data set. Holds only precomputed tables; all randomness comes
    from the ``random.Random`` passed to :meth:`draw`.

    Drawing is split in two: a builder (:meth:`_natural` or :meth:`_controlled`) draws
    the structure, leaves and joins of every statement; :meth:`_realise` then writes,
    evaluates and describes them in one pass without randomness. No AST is built for
    LoLa and MeMe items, the generator's hot path. The languages package stays the
    reference: the data tests parse every generated program and check its text
    (``render``) and its label (``evaluate``) against it.
    """

    def __init__(self, config: LolamemeConfig, names: NameTables) -> None:
        self.n = config.statement_count
        self.dmin, self.dmax = config.expression_min_depth, config.expression_max_depth
        self.plain = config.plain_assignment_share
        self.p_global_assign = config.global_assignment_share
        self.constant_share = config.constant_share
        self.meme_share = config.meme_share
        self.noise = noise_count(config)
        latent = latent_config(config)
        self.globals = tuple(names.globals)
        self.gset = frozenset(self.globals)
        self.locals = names.locals
        self.var = {name: Var(name) for name in (*self.globals, *self.locals)}
        self.meme_name = {name: to_meme_name(name) for name in self.var}
        # A global's operand value is fixed; a local's is its modification of the value
        # it holds (locals absent from lmods keep their value).
        self.lmods = {
            name: fn
            for name in self.locals
            if (fn := latent.modification(latent.type_of(name)).as_function())
        }
        self.gleaves: dict[str, FixedLeaf] = {
            name: (
                name,
                self.meme_name[name],
                value,
                latent.effective(name, value),
                int(not latent.modification(latent.type_of(name)).is_identity),
                name,
                self.var[name],
            )
            for name, value in names.globals.items()
        }
        self.gleaf_list = [self.gleaves[name] for name in self.globals]
        self.int_min, self.int_span = config.min_int_value, config.max_int_value + 1
        self.int_span -= self.int_min
        self.consts: list[FixedLeaf] | None = None
        if self.int_span <= _NUM_CACHE_LIMIT:
            self.consts = [self._literal(self.int_min + i) for i in range(self.int_span)]
        # A global assigned in train gets its own value, as a literal.
        self.own = {name: self._literal(value) for name, value in names.globals.items()}
        # joins[dialect][k][left]: operator k of the dialect's set, the chain so far on
        # the left or not.
        self.joins = {
            dialect: tuple(_joins(_SYMBOL_TO_OP[s]) for s in operator_set(config, dialect))
            for dialect in ("lola", "meme", "module_mix")
        }
        self.rejected: Counter[str] = Counter()  # why draws were repeated, for error messages

    @staticmethod
    def _literal(value: int) -> FixedLeaf:
        text = str(value)
        return (text, text, value, value, 0, None, Num(value))

    def _const(self, rnd: Callable[[], float]) -> FixedLeaf:
        index = int(rnd() * self.int_span)
        return (
            self.consts[index] if self.consts is not None else self._literal(self.int_min + index)
        )

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
        mode = policy.globals_mode
        if self.noise is None:
            built = self._natural(rng, mode, dialect, mandatory)
        else:
            built = self._controlled(rng, mode, dialect, mandatory, self.noise)
        if built is None:
            self.rejected["no free local for a target (LOCAL_VAR_COUNT too small)"] += 1
            return None
        statements, depths, assigned, output = built
        draft = self._realise(statements, dialect, mode == "recall")
        facts = self._close(draft, assigned, mode, output, rnd)
        if facts is None:
            self.rejected["no printable local whose value needs a global"] += 1
            return None
        if draft.zero:
            self.rejected["modulo by zero"] += 1
            return None
        output, noise, dep_depth, slice_globals = facts
        global_names = draft.global_names
        draft.lola.append(f"print({output})")
        lola = ";".join(draft.lola)
        if draft.meme is not None:
            draft.meme.append(f"print{{{self.meme_name[output]}}}")
            text = ";".join(draft.meme)
        elif draft.nodes is not None:
            targets = [statement[0] for statement in statements]
            program = Program(tuple(map(Assign, targets, draft.nodes)), output)
            text = render(program, "module_mix", rng=rng, p_meme=self.meme_share)
        else:
            text = lola
        row = (
            text,
            str(draft.env[output]),
            dialect,
            self.n,
            max(depths),
            len(global_names),
            global_names,
            noise,
            dep_depth,
            draft.latent,
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

    def _natural(
        self,
        rng: random.Random,
        mode: GlobalsMode,
        dialect: str,
        mandatory: Sequence[str],
    ) -> tuple[list[Statement], list[int], list[str], None]:
        """The paper's process: statements one by one; noise is whatever is not needed.

        The hot path of the generator, hence inlined leaf drawing and pre-bound names.
        Returns the statements, the depths, the locals in first-assignment order and no
        output (:meth:`_close` picks it).
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
        globals_, gleaves, gleaf_list = self.globals, self.gleaves, self.gleaf_list
        n_globals = len(globals_) if mode != "none" else 0
        locals_, n_locals = self.locals, len(self.locals)
        p_assign = self.p_global_assign if mode == "train" and n_globals else 0.0
        cshare, consts, own = self.constant_share, self.consts, self.own
        int_span = self.int_span
        joins_of = self.joins[dialect]
        nops = len(joins_of)
        statements: list[Statement] = []
        assigned: list[str] = []
        slot = 0
        for j in range(n):
            d = depths[j]
            if d == 0 and p_assign and (assigned or j < n - 1) and rnd() < p_assign:
                target = mand_get(slot) or globals_[int(rnd() * n_globals)]
                slot += 1
                statements.append((target, [own[target]], []))
                continue
            leaves: list[Leaf] = []
            for _ in range(d + 1):
                name = mand_get(slot)
                slot += 1
                if name is not None:
                    leaves.append(gleaves[name])
                    continue
                k = len(assigned) + n_globals
                if k == 0 or rnd() < cshare:
                    leaves.append(
                        consts[int(rnd() * int_span)] if consts is not None else self._const(rnd)
                    )
                    continue
                r = int(rnd() * k)
                leaves.append(assigned[r] if r < len(assigned) else gleaf_list[r - len(assigned)])
            joins = [joins_of[int(rnd() * nops)][rnd() < 0.5] for _ in range(d)]
            target = locals_[int(rnd() * n_locals)]
            statements.append((target, leaves, joins))
            if target not in assigned:
                assigned.append(target)
        return statements, depths, assigned, None

    def _controlled(
        self,
        rng: random.Random,
        mode: GlobalsMode,
        dialect: str,
        mandatory: Sequence[str],
        k: int,
    ) -> tuple[list[Statement], list[int], list[str], str] | None:
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
        cshare, gleaves, joins_of = self.constant_share, self.gleaves, self.joins[dialect]
        nops = len(joins_of)
        statements: list[Statement] = []
        assigned: list[str] = []
        pending: set[str] = set()
        tainted: set[str] = set()
        target_of: dict[int, str] = {}
        last_signal = signals[-1]

        for j in range(n):
            d = depths[j]
            is_signal = j not in noise_at
            slot = starts[j]

            def leaf(slot: int, is_signal: bool = is_signal) -> Leaf:
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
                return gleaves.get(name) or name

            target = None
            joins: list[Join] = []
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
                        target = candidate
                        leaves = [self.own[candidate]]
                if target is None:
                    leaves = [leaf(slot)]
            else:
                leaves = [leaf(slot)]
                for i in range(1, d + 1):
                    leaves.append(leaf(slot + i))
                    joins.append(joins_of[int(rnd() * nops)][rnd() < 0.5])
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
            statements.append((target, leaves, joins))
            if target not in self.gset and target not in assigned:
                assigned.append(target)
        return statements, depths, assigned, target_of[last_signal]

    # -- text, values and facts -----------------------------------------------------
    def _realise(self, statements: list[Statement], dialect: str, recall_mode: bool) -> _Draft:
        """Write and evaluate the drawn statements, and record their def-use facts.

        A statement's leaves are chained in order: each further leaf joins the chain so
        far on its drawn operator, the chain on the left or the right (``(a + (b * c))``,
        D.1.4). Values follow the interpreter's rules: a variable operand contributes its
        latent modification of the value it holds, a literal or a bracket its plain
        value, and a single leaf (``a = b``) copies the stored value. A modulo by zero
        marks the draft void. No randomness is used here.
        """
        draft = _Draft(dialect, recall_mode)
        env, lmods, var, meme_name = draft.env, self.lmods, self.var, self.meme_name
        last_def, chain, global_names = draft.last_def, draft.chain, draft.global_names
        deps_of, recalls, needs_recall = draft.deps_of, draft.recalls, draft.needs_recall
        lines, meme_lines, nodes = draft.lola, draft.meme, draft.nodes
        is_meme, with_nodes = meme_lines is not None, nodes is not None
        for j, (target, leaves, joins) in enumerate(statements):
            deps: list[int] = []
            recall = longest = latent = 0
            lola = meme = ""
            node: Expr | None = None
            value = 0
            for i, leaf in enumerate(leaves):
                where = -1  # the statement whose value this leaf reads; -1: none in the item
                if type(leaf) is str:  # a local: assigned before it is read
                    text = leaf
                    stored = operand = env[leaf]
                    fn = lmods.get(leaf)
                    if fn is not None:
                        operand = fn(stored)
                        latent += 1
                    where = last_def[leaf]
                    mtext = meme_name[leaf] if is_meme else text
                    leaf_node = var[leaf] if with_nodes else None
                else:
                    text, mtext, stored, operand, modified, name, leaf_node = leaf  # type: ignore[misc]
                    if name is not None:  # a global
                        global_names.append(name)
                        latent += modified
                        where = last_def.get(name, -1)
                        if where < 0:  # not assigned before in this item: recalled
                            recall += 1
                if where >= 0 and where not in deps:
                    deps.append(where)
                    if chain[where] > longest:
                        longest = chain[where]
                if not i:
                    lola, meme, value, node = text, mtext, stored, leaf_node
                    first = operand
                    continue
                if i == 1:
                    value = first  # the first leaf is an operand now, not a copy
                (code, lsym, msym, op), chain_left = joins[i - 1]
                if chain_left:
                    a, b = value, operand
                    lola = f"({lola} {lsym} {text})"
                    if is_meme:
                        meme = f"{{{meme} {msym} {mtext}}}"
                    if with_nodes:
                        node = BinOp(op, node, leaf_node)  # type: ignore[arg-type]
                else:
                    a, b = operand, value
                    lola = f"({text} {lsym} {lola})"
                    if is_meme:
                        meme = f"{{{mtext} {msym} {meme}}}"
                    if with_nodes:
                        node = BinOp(op, leaf_node, node)  # type: ignore[arg-type]
                if code == _ADD:
                    value = a + b
                elif code == _SUB:
                    value = a - b
                elif code == _MUL:
                    value = a * b
                elif b:
                    value = a % b
                else:
                    draft.zero = True
            if joins:  # latent types act on operands only, not on a plain copy
                draft.latent += latent
            deps_of.append(deps)
            chain.append(longest + 1)
            recalls.append(recall)
            if needs_recall is not None:
                # A list, not a generator: Cython compiles no closures in typed methods.
                needs_recall.append(recall > 0 or any([needs_recall[d] for d in deps]))
            if target in self.gset:
                global_names.append(target)  # a global's own value: the statement reads nothing
            last_def[target] = j
            env[target] = value
            lines.append(f"{target} = {lola}")
            if is_meme:
                meme_lines.append(f"{meme_name[target]} = {meme}")  # type: ignore[union-attr]
            if with_nodes:
                nodes.append(node)  # type: ignore[union-attr, arg-type]
        return draft

    # -- metadata -------------------------------------------------------------------
    def _close(
        self,
        draft: _Draft,
        assigned: list[str],
        mode: GlobalsMode,
        output: str | None,
        rnd: Callable[[], float],
    ) -> tuple[str, int, int, int] | None:
        """Pick the output when the builder did not; its dependency slice.

        The dependency slice of the output is the closure of the draft's def-use edges
        from the output's last assignment. Returns ``(output, noise statements,
        dependency depth, recall reads in the slice)``, or None when no output fits the
        split (a recall split needs a printed value that depends on a recall read).
        """
        last_def = draft.last_def
        if output is None:
            candidates = assigned
            if mode == "recall":
                needs = draft.needs_recall
                candidates = [t for t in candidates if needs[last_def[t]]]  # type: ignore[index]
            if not candidates:
                return None
            output = candidates[int(rnd() * len(candidates))]
        top = last_def[output]
        deps_of, recalls = draft.deps_of, draft.recalls
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
        return output, len(draft.chain) - len(in_slice), draft.chain[top], slice_globals
