"""``lolameme exec`` and ``lolameme translate``: the languages from the shell.

Both read the program from the argument, from ``--file``, or from stdin when the
argument is ``-`` or absent, so they compose with pipes. ``exec`` prints the output value
and nothing else, which makes it usable as a labelling oracle from any tool.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path

import typer

from lolameme.errors import LolamemeError
from lolameme.languages.ast import Program
from lolameme.languages.errors import ParseError
from lolameme.languages.globals_file import read_globals_file
from lolameme.languages.interpreter import MAX_VALUE_BITS, evaluate, format_int
from lolameme.languages.latent import BASE_LATENT, NO_LATENT
from lolameme.languages.parser import parse
from lolameme.languages.render import render


class ProgramFileError(LolamemeError):
    """The ``--file`` program is missing, unreadable, or given beside a program text."""


class TargetDialect(str, enum.Enum):
    lola = "lola"
    meme = "meme"


# the bounds 2**max_bits are built eagerly: 2**24 bits (5 million digits, 2 MB each) is
# far past any program worth running and still cheap to build
MAX_BITS_OPTION = 1 << 24
_PROGRAM_HELP = "Program text; '-' or nothing reads it from stdin (or use --file)."
_FILE_HELP = "Read the program from this file instead of the argument."


def _program_text(program: str | None, path: Path | None) -> str:
    if path is not None:
        if program is not None:
            raise ProgramFileError("give the program as text or as --file, not both")
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProgramFileError(f"program file {str(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ProgramFileError(f"program file {str(path)!r} cannot be read: {exc}") from None
    if program is None or program == "-":
        return sys.stdin.read()
    return program


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a long program is too long a file name, NUL is none
        return False


def _parse(text: str, program: str | None) -> Program:
    """Parse, and say so when the argument that failed is the name of a file.

    ``lolameme exec prog.lola`` is the first thing many users type; the argument is
    program text, so it fails at position 0, and the hint saves them the guess.
    """
    try:
        return parse(text)
    except ParseError as exc:
        if program not in (None, "-") and _is_file(program):
            raise ParseError(
                exc.position,
                f"{exc.detail} (the argument is program text; to run the file "
                f"{program!r}, use --file {program})",
            ) from None
        raise


def exec_command(
    program: str | None = typer.Argument(None, help=_PROGRAM_HELP, show_default=False),
    file: Path | None = typer.Option(None, "--file", "-f", help=_FILE_HELP, show_default=False),
    globals_file: Path | None = typer.Option(
        None,
        "--globals",
        help="JSON object {name: int} giving values of names the program reads unassigned.",
        show_default=False,
    ),
    no_latent: bool = typer.Option(
        False, "--no-latent", help="Switch latent types off (operands keep stored values)."
    ),
    max_bits: int = typer.Option(
        MAX_VALUE_BITS,
        "--max-bits",
        min=1,
        max=MAX_BITS_OPTION,
        help="Largest value a statement may assign, in bits (65536 bits = 19,728 digits).",
    ),
) -> None:
    """Run a LoLa/MeMe/mixed program and print its output (and nothing else)."""
    table = read_globals_file(globals_file) if globals_file is not None else None
    parsed = _parse(_program_text(program, file), program)
    latent = NO_LATENT if no_latent else BASE_LATENT
    typer.echo(format_int(evaluate(parsed, table, latent, max_bits=max_bits)))


def translate_command(
    program: str | None = typer.Argument(None, help=_PROGRAM_HELP, show_default=False),
    file: Path | None = typer.Option(None, "--file", "-f", help=_FILE_HELP, show_default=False),
    to: TargetDialect = typer.Option(..., "--to", help="Dialect to write.", case_sensitive=False),
) -> None:
    """Rewrite a program (any mix of dialects) wholly in LoLa or in MeMe."""
    parsed = _parse(_program_text(program, file), program)
    typer.echo(render(parsed, to.value))


def register(app: typer.Typer) -> None:
    """Add ``exec`` and ``translate`` to the top-level CLI."""
    app.command("exec")(exec_command)
    app.command("translate")(translate_command)
