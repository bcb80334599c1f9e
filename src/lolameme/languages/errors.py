"""The errors a user can cause with a program text, a name or a latent configuration.

They all derive from :class:`lolameme.errors.LolamemeError`, so the CLI prints them as
one ``error: ...`` line. Each carries the structured facts (position, statement index,
name) as attributes as well as in its message, so callers can react without parsing
the message.
"""

from __future__ import annotations

from lolameme.errors import LolamemeError


class InvalidNameError(LolamemeError, ValueError):
    """A variable name is not a valid LoLa or MeMe spelling (or is the reserved ``print``)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"invalid name {name!r}: {reason}")
        self.name = name
        self.reason = reason


class GlobalsFileError(LolamemeError):
    """A ``--globals`` file is missing, not JSON, not an object of integers, or names badly."""


class ParseError(LolamemeError, ValueError):
    """A program text is malformed; ``position`` is the 0-based character index."""

    def __init__(self, position: int, message: str) -> None:
        super().__init__(f"position {position}: {message}")
        self.position = position
        self.detail = message


class EvaluationError(LolamemeError):
    """A well-formed program cannot be run.

    ``statement_index`` is 0-based; the print statement has index ``len(statements)``.
    ``name`` is the variable involved (the assigned one for modulo by zero, the read one
    for an unassigned name).
    """

    def __init__(self, message: str, *, statement_index: int, name: str) -> None:
        super().__init__(message)
        self.statement_index = statement_index
        self.name = name


class ModuloByZeroError(EvaluationError):
    """A ``%`` (MeMe ``/``) whose right operand evaluates to zero, in any statement."""

    def __init__(self, statement_index: int, name: str) -> None:
        super().__init__(
            f"statement index {statement_index} (assigning {name!r}): modulo by zero",
            statement_index=statement_index,
            name=name,
        )


class UnassignedNameError(EvaluationError):
    """A name is read before any assignment and is not in the globals table."""

    def __init__(self, statement_index: int, name: str, *, is_print: bool = False) -> None:
        where = (
            f"print statement (index {statement_index})"
            if is_print
            else f"statement index {statement_index}"
        )
        super().__init__(
            f"{where}: name {name!r} is read before it is assigned and is not a global",
            statement_index=statement_index,
            name=name,
        )


class ValueTooLargeError(EvaluationError):
    """A statement's value needs more bits than the interpreter's limit (``max_bits``).

    Integers are unbounded, but their cost is not: 40 squarings of 2 would take longer
    than the age of the universe. The limit makes such a program fail at once.
    """

    def __init__(self, statement_index: int, name: str, max_bits: int) -> None:
        super().__init__(
            f"statement index {statement_index} (assigning {name!r}): value exceeds the "
            f"limit of {max_bits} bits (about {int(max_bits * 0.30103)} digits)",
            statement_index=statement_index,
            name=name,
        )
        self.max_bits = max_bits
