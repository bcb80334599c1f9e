"""The abstract syntax shared by LoLa, MeMe and mixed text.

A program is dialect-free: the dialect only decides how it is spelled. Names are
stored in their canonical form, the LoLa (camelCase) spelling, because the two
spellings are a bijection (``xnBolt`` <-> ``xn_bolt``, see ``names.py``), and a plain
string is the fastest dictionary key the interpreter can have.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Op(enum.Enum):
    """The four binary operators. ``MOD`` is Python's floor modulo (the paper's "division")."""

    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    MOD = "mod"


@dataclass(frozen=True, slots=True)
class Num:
    """A non-negative integer literal. Literals are never changed by latent types."""

    value: int


@dataclass(frozen=True, slots=True)
class Var:
    """A variable reference; ``name`` is the canonical (LoLa) spelling."""

    name: str


@dataclass(frozen=True, slots=True)
class BinOp:
    """A fully bracketed binary expression ``(left op right)``."""

    op: Op
    left: Expr
    right: Expr


Expr = Num | Var | BinOp


@dataclass(frozen=True, slots=True)
class Assign:
    """``target = value``; ``target`` is the canonical spelling."""

    target: str
    value: Expr


@dataclass(frozen=True, slots=True)
class Program:
    """Statements run in order, then ``print(output)``."""

    statements: tuple[Assign, ...]
    output: str


def expr_depth(expr: Expr) -> int:
    """Nesting depth: 0 for a literal or a name, 1 for ``(a + b)``, 2 for ``(a + (b * c))``."""
    if isinstance(expr, BinOp):
        return 1 + max(expr_depth(expr.left), expr_depth(expr.right))
    return 0


def expr_names(expr: Expr) -> list[str]:
    """The names an expression reads, left to right, with repeats."""
    out: list[str] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Var):
            out.append(node.name)
        elif isinstance(node, BinOp):
            stack.append(node.right)
            stack.append(node.left)
    return out
