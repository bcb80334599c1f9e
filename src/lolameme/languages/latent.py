"""Latent types: a hidden per-variable rule the model must discover from data.

Each variable's type is fixed by the first letter of its name (docs/languages.md section 3):
letter index ``i`` (a=0 ... z=25) is type A when ``i < a_end``, B when
``a_end <= i < b_end``, C otherwise. When a variable is an operand of a binary operator
its effective value is its type's modification applied to its stored value.

The paper writes modifications as strings (``'*2'``, ``'/2'``, ``''``); we keep that
notation as the input format and parse it once into a :class:`Modification`. On
integers the paper's ``/2`` can only mean floor division (labels are integers), so ``/k``
and ``//k`` both mean Python's ``v // k``.
"""

from __future__ import annotations

import operator
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from lolameme.errors import ConfigError

LatentType = Literal["A", "B", "C"]

_MOD_RE = re.compile(r"\s*(\*|//|/|\+|-|%)\s*([+-]?\d+)\s*\Z")
_OPERATORS: dict[str, Callable[[int, int], int]] = {
    "*": operator.mul,
    "//": operator.floordiv,
    "+": operator.add,
    "-": operator.sub,
    "%": operator.mod,
}


@dataclass(frozen=True, slots=True)
class Modification:
    """``v -> v <op> operand``; ``op == ""`` is the identity (latent type switched off)."""

    op: str = ""
    operand: int = 0

    @classmethod
    def parse(cls, text: str | Modification) -> Modification:
        """Read the paper's notation: ``""`` (identity), ``"*2"``, ``"/2"`` (floor), ``"+3"``."""
        if isinstance(text, Modification):
            return text
        if not isinstance(text, str):
            raise ConfigError(f"latent modification must be a string like '*2', got {text!r}")
        if not text.strip():
            return cls()
        match = _MOD_RE.match(text)
        if match is None:
            raise ConfigError(
                f"latent modification {text!r} is not one of '', '*k', '/k', '//k', '+k', "
                "'-k', '%k' (k an integer)"
            )
        op = "//" if match.group(1) == "/" else match.group(1)
        operand = int(match.group(2))
        if op in ("//", "%") and operand == 0:
            raise ConfigError(f"latent modification {text!r} divides by zero")
        return cls(op, operand)

    @property
    def is_identity(self) -> bool:
        return self.op == ""

    def apply(self, value: int) -> int:
        """The effective value of a variable with stored ``value``."""
        if self.op == "":
            return value
        return _OPERATORS[self.op](value, self.operand)

    def as_function(self) -> Callable[[int], int] | None:
        """A fast one-argument callable, or ``None`` for the identity (nothing to apply)."""
        if self.op == "":
            return None
        fn, k = _OPERATORS[self.op], self.operand
        return lambda v: fn(v, k)

    def __str__(self) -> str:
        return f"{self.op}{self.operand}" if self.op else ""


@dataclass(frozen=True)
class LatentConfig:
    """Type boundaries (letter indices) and the modification of each latent type.

    Defaults are the base config of docs/languages.md: a-w type A (``*2``), x-z type B
    (``//2``), type C empty (``//2``). Modifications may be given as strings.
    """

    a_end: int = 23
    b_end: int = 26
    mod_a: Modification | str = "*2"
    mod_b: Modification | str = "//2"
    mod_c: Modification | str = "//2"
    # First letter -> effective-value function, only for letters whose modification is not
    # the identity. Precomputed so the interpreter pays one dict lookup per operand.
    _by_letter: dict[str, Callable[[int], int]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        for fname in ("a_end", "b_end"):
            value = getattr(self, fname)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"latent {fname} must be an integer, got {value!r}")
        if not 0 <= self.a_end <= self.b_end <= 26:
            raise ConfigError(
                f"latent boundaries must satisfy 0 <= a_end <= b_end <= 26, "
                f"got a_end={self.a_end}, b_end={self.b_end}"
            )
        for fname in ("mod_a", "mod_b", "mod_c"):
            try:
                parsed = Modification.parse(getattr(self, fname))
            except ConfigError as exc:
                raise ConfigError(f"latent {fname}: {exc}") from None
            object.__setattr__(self, fname, parsed)
        table: dict[str, Callable[[int], int]] = {}
        for index, letter in enumerate(string.ascii_lowercase):
            fn = self.modification(self._type_of_index(index)).as_function()
            if fn is not None:
                table[letter] = fn
        object.__setattr__(self, "_by_letter", table)

    @classmethod
    def off(cls, a_end: int = 23, b_end: int = 26) -> LatentConfig:
        """Latent types switched off: every modification is the identity."""
        return cls(a_end, b_end, "", "", "")

    @property
    def is_off(self) -> bool:
        """True when no variable's effective value ever differs from its stored value."""
        return not self._by_letter

    def _type_of_index(self, index: int) -> LatentType:
        if index < self.a_end:
            return "A"
        if index < self.b_end:
            return "B"
        return "C"

    def type_of(self, name: str) -> LatentType:
        """The latent type of a variable, from the first letter of its name."""
        index = ord(name[0]) - ord("a") if name else -1
        if not 0 <= index < 26:
            raise ConfigError(f"name {name!r} does not start with a lowercase letter")
        return self._type_of_index(index)

    def modification(self, latent_type: LatentType) -> Modification:
        """The modification of type ``"A"``, ``"B"`` or ``"C"``."""
        return {"A": self.mod_a, "B": self.mod_b, "C": self.mod_c}[latent_type]  # type: ignore[return-value]

    def effective(self, name: str, value: int) -> int:
        """The value ``name`` contributes as an operand when its stored value is ``value``."""
        fn = self._by_letter.get(name[:1])
        if fn is None:
            self.type_of(name)  # validates the name's first letter
            return value
        return fn(value)

    def letter_range(self, latent_type: LatentType) -> str:
        """The first letters of type ``latent_type`` (what a generator draws from)."""
        start, stop = {"A": (0, self.a_end), "B": (self.a_end, self.b_end), "C": (self.b_end, 26)}[
            latent_type
        ]
        return string.ascii_lowercase[start:stop]


BASE_LATENT = LatentConfig()
NO_LATENT = LatentConfig.off()
