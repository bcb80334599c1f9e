"""Read LoLa, MeMe or any mix of them into a :class:`~lolameme.languages.ast.Program`.

Design, chosen for speed and for clear errors:

- One regex pass splits the text into token strings (words, or single other characters);
  whitespace between tokens (spaces/tabs) is dropped by the same pass. Positions are not
  kept: they are recomputed only when an error must be reported.
- Expressions are parsed iteratively with an explicit stack of open brackets, so a huge
  input cannot crash the parser with ``RecursionError``. Nesting is still bounded by
  :data:`MAX_NESTING` because every consumer of a deep AST (rendering, equality,
  evaluation) would recurse; the bound is far above what any data set uses.
- Each bracket pair and operator may be LoLa or MeMe independently, but an opener must be
  closed by its own closer (``(`` with ``)``, ``{`` with ``}``). Names in either spelling
  are mapped to the canonical (LoLa) spelling.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lolameme.languages.ast import Assign, BinOp, Expr, Num, Op, Program, Var
from lolameme.languages.errors import InvalidNameError, ParseError
from lolameme.languages.names import _TO_LOLA, to_lola_name

MAX_NESTING = 256
"""Deepest bracket nesting accepted (base data uses depth <= 2)."""

_TOKEN_RE = re.compile(r"[ \t]*([A-Za-z0-9_]+|[^ \t])")
_OPS: dict[str, Op] = {
    "+": Op.ADD,
    "-": Op.SUB,
    "*": Op.MUL,
    "%": Op.MOD,
    "|": Op.ADD,
    "!": Op.SUB,
    "@": Op.MUL,
    "/": Op.MOD,
}
_CLOSER = {"(": ")", "{": "}"}
_LEAF_CACHE_LIMIT = 1 << 16
_LEAVES: dict[str, Expr] = {}
"""Token text -> its parsed leaf (:class:`Var` or :class:`Num`). Leaves are immutable and
compared by value, so programs can share them; a hit skips validation and construction,
which were a fifth of parsing. Cleared when full, like the name cache of ``names``."""

# Frozen dataclasses build through ``object.__setattr__`` per field; setting the slots
# directly gives the same object in ~60% of the time (BinOps and Assigns are a sixth of
# the nodes the generator's labeller parses). Only this module builds nodes this way.
_new = object.__new__
_set_op, _set_left, _set_right = BinOp.op.__set__, BinOp.left.__set__, BinOp.right.__set__  # type: ignore[attr-defined]
_set_target, _set_value = Assign.target.__set__, Assign.value.__set__  # type: ignore[attr-defined]


def _binop(op: Op, left: Expr, right: Expr) -> BinOp:
    """``BinOp(op, left, right)``, built without the frozen ``__init__``."""
    node = _new(BinOp)
    _set_op(node, op)
    _set_left(node, left)
    _set_right(node, right)
    return node


def _assign(target: str, value: Expr) -> Assign:
    """``Assign(target, value)``, built without the frozen ``__init__``."""
    node = _new(Assign)
    _set_target(node, target)
    _set_value(node, value)
    return node


_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_DIGITS = frozenset("0123456789")


class _Fail(Exception):
    """Internal: a token index and a message; the public error gets a character position.

    A message that must name another token's position (an unclosed bracket's opener) is
    a function of the token-index -> character-position resolver, called only on error.
    """

    def __init__(self, index: int, message: str | Callable[[Callable[[int], int]], str]):
        super().__init__(index, message)
        self.index = index
        self.message = message


def _describe(tokens: list[str], i: int) -> str:
    if i >= len(tokens):
        return "end of input"
    tok = tokens[i]
    if tok == "\n" or tok == "\r":
        return "a line break"
    return repr(tok)


def _expect(tokens: list[str], i: int, what: str) -> _Fail:
    return _Fail(i, f"expected {what}, found {_describe(tokens, i)}")


def _unclosed(tokens: list[str], i: int, opener: int, closer: str) -> _Fail:
    """Token ``i`` should have been ``closer``, closing the bracket at token ``opener``."""
    found, open_text = _describe(tokens, i), tokens[opener]
    return _Fail(
        i,
        lambda pos: (
            f"expected {closer!r} to close {open_text!r} at position {pos(opener)}, found {found}"
        ),
    )


def _name(tokens: list[str], i: int) -> str:
    tok = tokens[i]
    # Fast path: a dict hit in the spelling cache of ``names``; a miss validates.
    try:
        return _TO_LOLA[tok]
    except KeyError:
        pass
    try:
        return to_lola_name(tok)
    except InvalidNameError as exc:
        raise _Fail(i, str(exc)) from None


def _operand(tokens: list[str], i: int) -> Expr:
    """A name or a literal at token ``i`` (the caller checked ``i`` is in range and that
    it is not in :data:`_LEAVES`); a valid one is added there."""
    tok = tokens[i]
    first = tok[0]
    leaf: Expr
    if first in _NAME_START:
        leaf = Var(_name(tokens, i))
    elif first in _DIGITS:
        if not tok.isdigit() or not tok.isascii():
            raise _Fail(i, f"invalid number {tok!r} (a number is decimal digits only)")
        try:
            leaf = Num(int(tok))
        except ValueError:  # more digits than int() converts (sys.set_int_max_str_digits)
            raise _Fail(i, f"number with {len(tok)} digits is too long") from None
    elif first in _CLOSER or first in _OPS or first in ")}":
        raise _expect(tokens, i, "a name, a number, '(' or '{'")
    else:
        raise _Fail(i, f"unexpected character {_describe(tokens, i)}")
    if len(_LEAVES) >= _LEAF_CACHE_LIMIT:
        _LEAVES.clear()
    _LEAVES[tok] = leaf
    return leaf


def _expr(tokens: list[str], i: int, n: int) -> tuple[Expr, int]:
    """Parse one expression starting at token ``i``; return it and the next token index."""
    # Each frame is an open bracket: [closer, token index of the opener, left, op].
    stack: list[list] = []
    while True:
        if i >= n:
            if stack:
                raise _expect(tokens, i, "a name, a number, '(' or '{'")
            raise _expect(tokens, i, "an expression")
        tok = tokens[i]
        value = _LEAVES.get(tok)
        if value is None:
            closer = _CLOSER.get(tok)
            if closer is not None:
                if len(stack) >= MAX_NESTING:
                    raise _Fail(i, f"brackets nested deeper than {MAX_NESTING} levels")
                stack.append([closer, i, None, None])
                i += 1
                continue
            value = _operand(tokens, i)
        i += 1
        while True:  # attach the finished value to the innermost open bracket
            if not stack:
                return value, i
            frame = stack[-1]
            if frame[2] is None:
                frame[2] = value
                op = _OPS.get(tokens[i]) if i < n else None
                if op is None:
                    raise _expect(tokens, i, "an operator (+ - * % or | ! @ /)")
                frame[3] = op
                i += 1
                break
            if i >= n or tokens[i] != frame[0]:
                raise _unclosed(tokens, i, frame[1], frame[0])
            i += 1
            stack.pop()
            value = _binop(frame[3], frame[2], value)


def _print(tokens: list[str], i: int, n: int) -> tuple[str, int]:
    """``print OPEN NAME CLOSE`` at token ``i``; returns the name and the next index."""
    if i + 1 < n and tokens[i + 1] == "=":
        raise _Fail(i, "'print' is reserved and cannot be assigned")
    closer = _CLOSER.get(tokens[i + 1]) if i + 1 < n else None
    if closer is None:
        raise _expect(tokens, i + 1, "'(' or '{' after print")
    if i + 2 >= n:
        raise _expect(tokens, i + 2, "the printed name")
    if tokens[i + 2][0] not in _NAME_START:
        raise _expect(tokens, i + 2, "a name to print")
    name = _name(tokens, i + 2)
    if i + 3 >= n or tokens[i + 3] != closer:
        raise _unclosed(tokens, i + 3, i + 1, closer)
    return name, i + 4


def _program(tokens: list[str]) -> Program:
    n = len(tokens)
    statements: list[Assign] = []
    i = 0
    while True:
        if i >= n:
            raise _Fail(i, "missing print statement: a program ends with print(NAME)")
        tok = tokens[i]
        if tok == "print":
            break
        if tok[0] not in _NAME_START:
            raise _expect(tokens, i, "a variable name or print")
        target = _name(tokens, i)
        if i + 1 >= n or tokens[i + 1] != "=":
            raise _expect(tokens, i + 1, "'='")
        value, i = _expr(tokens, i + 2, n)
        statements.append(_assign(target, value))
        if i >= n:
            raise _Fail(i, "missing print statement: expected ';' then print(NAME)")
        if tokens[i] != ";":
            if tokens[i] in (")", "}"):
                raise _Fail(i, f"unmatched {tokens[i]!r}: no bracket is open here")
            raise _expect(tokens, i, "';'")
        i += 1
    output, i = _print(tokens, i, n)
    if i < n and tokens[i] == ";":
        i += 1
    if i < n:
        raise _Fail(i, f"unexpected text after the print statement: {_describe(tokens, i)}")
    return Program(tuple(statements), output)


def _char_position(text: str, offset: int, token_index: int) -> int:
    """0-based character position of token ``token_index`` (end of text when past it)."""
    end = offset
    for k, match in enumerate(_TOKEN_RE.finditer(text, offset)):
        if k == token_index:
            return match.start(1)
        end = match.end()
    return end


def parse(text: str) -> Program:
    """Parse a program in LoLa, MeMe or any mix; raise :class:`ParseError` if malformed.

    Leading/trailing whitespace is ignored, spaces and tabs may separate any two tokens,
    and one ``;`` may follow the print.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() needs a str, got {type(text).__name__}")
    stripped = text.strip()
    offset = len(text) - len(text.lstrip())
    if not stripped:
        raise ParseError(0, "empty program: expected statements ending with print(NAME)")
    body = text[: offset + len(stripped)]
    tokens = _TOKEN_RE.findall(body, offset)
    try:
        return _program(tokens)
    except _Fail as fail:

        def position(token_index: int) -> int:
            return _char_position(body, offset, token_index)

        message = fail.message if isinstance(fail.message, str) else fail.message(position)
        raise ParseError(position(fail.index), message) from None
