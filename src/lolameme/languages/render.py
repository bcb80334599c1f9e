"""Write a program as text: LoLa, MeMe, or module-mixed (docs/languages.md sections 1 and 4).

The spacing is exactly the generator's (``a = b``, ``(x + y)``, ``;`` without a space,
``print(x)``), so the text a model sees is fully determined by the AST and the dialect
draws. Rendering runs once per verified item and once per generated module-mixed item, so
each dialect has its own small recursive writer instead of one writer that branches on
the dialect at every node.
"""

from __future__ import annotations

import random
from typing import Literal

from lolameme.errors import LolamemeError
from lolameme.languages.ast import Expr, Num, Op, Program, Var
from lolameme.languages.names import _TO_MEME, check_lola_name, to_meme_name

Dialect = Literal["lola", "meme", "module_mix"]
DIALECTS: tuple[str, ...] = ("lola", "meme", "module_mix")

LOLA_OPS: dict[Op, str] = {Op.ADD: "+", Op.SUB: "-", Op.MUL: "*", Op.MOD: "%"}
MEME_OPS: dict[Op, str] = {Op.ADD: "|", Op.SUB: "!", Op.MUL: "@", Op.MOD: "/"}


class RenderError(LolamemeError, ValueError):
    """The program or the rendering options cannot be written as text."""


def _num(node: Num) -> str:
    value = node.value
    if value < 0:
        raise RenderError(f"literal {value} is negative; the languages have unsigned literals")
    return str(value)


# The name caches of ``names`` are read directly: a dict hit instead of a function call per
# name is a measurable share of rendering time, and a miss falls back to the checked path.
def _lola_name(name: str) -> str:
    return name if name in _TO_MEME else check_lola_name(name)


def _meme_name(name: str) -> str:
    try:
        return _TO_MEME[name]
    except KeyError:
        return to_meme_name(name)


def _lola(expr: Expr) -> str:
    kind = type(expr)
    if kind is Var:
        return _lola_name(expr.name)  # type: ignore[union-attr]
    if kind is Num:
        return _num(expr)  # type: ignore[arg-type]
    return f"({_lola(expr.left)} {LOLA_OPS[expr.op]} {_lola(expr.right)})"  # type: ignore[union-attr]


def _meme(expr: Expr) -> str:
    kind = type(expr)
    if kind is Var:
        return _meme_name(expr.name)  # type: ignore[union-attr]
    if kind is Num:
        return _num(expr)  # type: ignore[arg-type]
    return f"{{{_meme(expr.left)} {MEME_OPS[expr.op]} {_meme(expr.right)}}}"  # type: ignore[union-attr]


class _Mixer:
    """Module-mix writer: each name, operator and bracket pair drawn independently."""

    __slots__ = ("draw", "p")

    def __init__(self, rng: random.Random, p_meme: float) -> None:
        self.draw = rng.random
        self.p = p_meme

    def name(self, name: str) -> str:
        return _meme_name(name) if self.draw() < self.p else _lola_name(name)

    def expr(self, expr: Expr) -> str:
        kind = type(expr)
        if kind is Var:
            return self.name(expr.name)  # type: ignore[union-attr]
        if kind is Num:
            return _num(expr)  # type: ignore[arg-type]
        draw, p = self.draw, self.p
        # Draw order is fixed (brackets, left, operator, right) so a seed reproduces a text.
        meme_brackets = draw() < p
        left = self.expr(expr.left)  # type: ignore[union-attr]
        ops = MEME_OPS if draw() < p else LOLA_OPS
        right = self.expr(expr.right)  # type: ignore[union-attr]
        op = ops[expr.op]  # type: ignore[union-attr]
        if meme_brackets:
            return f"{{{left} {op} {right}}}"
        return f"({left} {op} {right})"


def render(
    program: Program,
    dialect: Dialect = "lola",
    *,
    rng: random.Random | None = None,
    p_meme: float = 0.5,
) -> str:
    """The program's text in ``dialect``.

    ``module_mix`` needs ``rng`` (an explicit ``random.Random``; the global RNG is never
    used) and draws MeMe with probability ``p_meme`` for every name occurrence, operator,
    bracket pair and the print's brackets, in textual order.
    """
    if dialect == "lola":
        body = [f"{_lola_name(s.target)} = {_lola(s.value)}" for s in program.statements]
        body.append(f"print({_lola_name(program.output)})")
    elif dialect == "meme":
        body = [f"{_meme_name(s.target)} = {_meme(s.value)}" for s in program.statements]
        body.append(f"print{{{_meme_name(program.output)}}}")
    elif dialect == "module_mix":
        if rng is None:
            raise RenderError("dialect 'module_mix' needs an explicit rng (random.Random)")
        if not 0.0 <= p_meme <= 1.0:
            raise RenderError(f"p_meme must be in [0, 1], got {p_meme}")
        mixer = _Mixer(rng, p_meme)
        body = [f"{mixer.name(s.target)} = {mixer.expr(s.value)}" for s in program.statements]
        meme_print = rng.random() < p_meme
        name = mixer.name(program.output)
        body.append(f"print{{{name}}}" if meme_print else f"print({name})")
    else:
        raise RenderError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    return ";".join(body)
