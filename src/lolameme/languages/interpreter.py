"""Run a program: integer arithmetic with latent types (docs/languages.md section 3).

The interpreter relabels every item in ``lolameme data verify`` and the tests (the
generator computes labels itself, under the same rules), so it is written for speed: one pass
over the statements, expressions walked by a small function that dispatches on the node
class with ``is`` checks, and each operand's latent modification found with one dict
lookup on its first letter (precomputed by :class:`LatentConfig`). Expressions nest only
as deep as the parser allows (see ``parser.MAX_NESTING``), so the walk is recursive; an
AST built by hand deeper than Python's recursion limit is reported as a clear error.

Values are unbounded integers, but each statement's value must fit in ``max_bits`` bits
(default :data:`MAX_VALUE_BITS`): checked once per statement with two comparisons, so a
program that squares a number 40 times fails at once with :class:`ValueTooLargeError`
instead of running for hours. Within one statement a value can grow only to the sum of
its operands' sizes, so the cost of any program stays bounded by its length.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping

from lolameme.languages.ast import BinOp, Expr, Num, Op, Program, Var
from lolameme.languages.errors import (
    EvaluationError,
    ModuloByZeroError,
    UnassignedNameError,
    ValueTooLargeError,
)
from lolameme.languages.latent import BASE_LATENT, LatentConfig

_ADD, _SUB, _MUL = Op.ADD, Op.SUB, Op.MUL
_EMPTY: Mapping[str, int] = {}
MAX_VALUE_BITS = 1 << 16  # 65,536 bits: 19,728 digits; 2 squared 14 times needs 16,385


_DEFAULT_BOUNDS = (-(1 << MAX_VALUE_BITS), 1 << MAX_VALUE_BITS)


@functools.lru_cache(maxsize=8)
def _bounds(max_bits: int) -> tuple[int, int]:
    """``(-2**max_bits, 2**max_bits)``, built once per limit (they are 8 KB each at the
    default: building them per program would cost more than running it)."""
    if max_bits < 1:
        raise ValueError(f"max_bits must be at least 1, got {max_bits}")
    return -(1 << max_bits), 1 << max_bits


def format_int(value: int) -> str:
    """The decimal text of any int, also past Python's 4,300-digit ``str`` limit."""
    try:
        return str(value)
    except ValueError:
        limit = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            return str(value)
        finally:
            sys.set_int_max_str_digits(limit)


class _ModuloByZero(Exception):
    """Internal signal; turned into :class:`ModuloByZeroError` with the statement's facts."""


class _Unassigned(Exception):
    """Internal signal carrying the unassigned name."""


def _read(name: str, env: dict[str, int], globals_: Mapping[str, int]) -> int:
    try:
        return env[name]
    except KeyError:
        try:
            return globals_[name]
        except KeyError:
            raise _Unassigned(name) from None


def _binop(
    node: BinOp,
    env: dict[str, int],
    globals_: Mapping[str, int],
    mods: dict[str, Callable[[int], int]],
) -> int:
    # Operands that are variables get their latent modification; nested expressions and
    # literals contribute their plain value. Left and right are written out (not a helper
    # call each) because this is the hottest code of data verification: the generator
    # computes labels itself, and ``verify`` re-evaluates every item through here.
    left = node.left
    kind = type(left)
    if kind is Num:
        a = left.value  # type: ignore[union-attr]
    elif kind is Var:
        name = left.name  # type: ignore[union-attr]
        try:
            a = env[name]
        except KeyError:
            a = _read(name, env, globals_)
        fn = mods.get(name[0])
        if fn is not None:
            a = fn(a)
    else:
        a = _binop(left, env, globals_, mods)  # type: ignore[arg-type]
    right = node.right
    kind = type(right)
    if kind is Num:
        b = right.value  # type: ignore[union-attr]
    elif kind is Var:
        name = right.name  # type: ignore[union-attr]
        try:
            b = env[name]
        except KeyError:
            b = _read(name, env, globals_)
        fn = mods.get(name[0])
        if fn is not None:
            b = fn(b)
    else:
        b = _binop(right, env, globals_, mods)  # type: ignore[arg-type]
    op = node.op
    if op is _ADD:
        return a + b
    if op is _SUB:
        return a - b
    if op is _MUL:
        return a * b
    if b == 0:
        raise _ModuloByZero
    return a % b


def _value(
    expr: Expr,
    env: dict[str, int],
    globals_: Mapping[str, int],
    mods: dict[str, Callable[[int], int]],
) -> int:
    """The value assigned by ``target = expr``: a plain copy keeps the stored value."""
    kind = type(expr)
    if kind is BinOp:
        return _binop(expr, env, globals_, mods)  # type: ignore[arg-type]
    if kind is Num:
        return expr.value  # type: ignore[union-attr]
    if kind is Var:
        return _read(expr.name, env, globals_)  # type: ignore[union-attr]
    raise TypeError(f"not an expression node: {expr!r}")


def run(
    program: Program,
    globals: Mapping[str, int] | None = None,
    latent: LatentConfig = BASE_LATENT,
    *,
    max_bits: int = MAX_VALUE_BITS,
) -> dict[str, int]:
    """Execute every statement and return the final environment (assigned names only).

    Useful to a generator that needs more than the printed value; :func:`evaluate` is the
    labeller. Errors are those of :func:`evaluate`.
    """
    globals_ = _EMPTY if globals is None else globals
    mods = latent._by_letter  # package-internal: first letter -> modification function
    low, high = _DEFAULT_BOUNDS if max_bits == MAX_VALUE_BITS else _bounds(max_bits)
    env: dict[str, int] = {}
    index = 0
    try:
        for statement in program.statements:
            value = _value(statement.value, env, globals_, mods)
            if not low < value < high:
                raise ValueTooLargeError(index, statement.target, max_bits)
            env[statement.target] = value
            index += 1
    except _ModuloByZero:
        raise ModuloByZeroError(index, program.statements[index].target) from None
    except _Unassigned as exc:
        raise UnassignedNameError(index, exc.args[0]) from None
    except RecursionError:
        raise EvaluationError(
            f"statement index {index}: expression nested too deeply to evaluate",
            statement_index=index,
            name=program.statements[index].target,
        ) from None
    return env


def evaluate(
    program: Program,
    globals: Mapping[str, int] | None = None,
    latent: LatentConfig = BASE_LATENT,
    *,
    max_bits: int = MAX_VALUE_BITS,
) -> int:
    """The program's output: the stored value of the printed name.

    ``globals`` maps canonical (LoLa) names to values; it is read only for names the
    program reads before assigning them. Raises :class:`ModuloByZeroError` for a modulo by
    zero in any statement (also one whose result is never printed) and
    :class:`UnassignedNameError` for a name that is neither assigned nor a global, and
    :class:`ValueTooLargeError` for a statement whose value needs more than ``max_bits``
    bits.
    """
    env = run(program, globals, latent, max_bits=max_bits)
    name = program.output
    try:
        return env[name]
    except KeyError:
        if globals is not None and name in globals:
            return globals[name]
        raise UnassignedNameError(len(program.statements), name, is_print=True) from None
