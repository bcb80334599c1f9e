"""The ``lolameme`` command line.

Each subpackage owns its commands in its own ``cli.py`` and exposes
``register(app)``; this module only assembles them and turns user errors into one
``error: ...`` line. Command modules import heavy libraries (torch, pandas) inside
the command functions, so ``lolameme exec`` starts in a fraction of a second.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

import click
import typer
from typer.core import TyperCommand

from lolameme import __version__
from lolameme._proc import Terminated, install_sigterm_handler
from lolameme.errors import LolamemeError, format_validation_error

app = typer.Typer(
    name="lolameme",
    help="LOLAMEME: synthetic languages for measuring language-model architectures.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: "[tiny]" marks a default, not a style
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Subpackages whose ``cli.register(app)`` adds commands, in the order of the pipeline.
_COMMAND_MODULES = (
    "lolameme.languages.cli",
    "lolameme.data.cli",
    "lolameme.models.cli",
    "lolameme.training.cli",
    "lolameme.evaluation.cli",
    "lolameme.export.cli",
    "lolameme.experiments.cli",
    "lolameme.reporting.cli",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"lolameme {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """LOLAMEME: synthetic languages for measuring language-model architectures."""


class _Command(TyperCommand):
    """A command whose usage line names arguments the Unix way: ``lolameme eval RUN``.

    typer writes a required argument as ``{run}``, which reads like a template.
    """

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [_usage_piece(p) for p in super().collect_usage_pieces(ctx)]


def _usage_piece(piece: str) -> str:
    """``{run}`` -> ``RUN`` and ``[program]`` -> ``[PROGRAM]``; ``[OPTIONS]`` is kept."""
    match = re.fullmatch(r"([{\[])([A-Za-z_]+)([}\]])(\.\.\.)?", piece)
    if not match:
        return piece
    name = match[2].upper() + (match[4] or "")
    return name if match[1] == "{" else f"[{name}]"


def _use_command_class(typer_app: typer.Typer) -> None:
    """Give every command of ``typer_app`` and its sub-apps the :class:`_Command` class."""
    for info in typer_app.registered_commands:
        if info.cls in (None, TyperCommand):  # not a command with its own class
            info.cls = _Command
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _use_command_class(group.typer_instance)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(app)
    _use_command_class(app)


_register_all()

# typer >= 0.26 vendors click as ``typer._click``: its usage errors and aborts are not
# ``click``'s classes, so both families are caught (else a typo in an option would end in
# a traceback).
_vendored = getattr(getattr(typer, "_click", None), "exceptions", None)
_USAGE_ERRORS: tuple[type[Exception], ...] = (click.exceptions.ClickException,) + (
    (_vendored.ClickException,) if _vendored is not None else ()
)
_ABORTS: tuple[type[BaseException], ...] = (click.exceptions.Abort, typer.Abort)


def fail(message: str, code: int = 2) -> None:
    """Print one ``error:`` line on stderr and exit; for CLI code that validates by hand."""
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: user errors become one line, never a traceback."""
    if argv is None:  # the real command line (not a test or a caller's process)
        install_sigterm_handler()  # SIGTERM unwinds: pools stopped, partial outputs removed
    try:
        result = app(args=argv, standalone_mode=False)
    except _USAGE_ERRORS as exc:
        exc.show()  # type: ignore[attr-defined]
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except _ABORTS:
        typer.echo("error: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(130)
    except Terminated:
        typer.echo("error: terminated (SIGTERM); partial outputs were removed", err=True)
        sys.exit(143)
    except LolamemeError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except FileNotFoundError as exc:
        typer.echo(f"error: no such file or directory: {exc.filename or exc}", err=True)
        sys.exit(2)
    except PermissionError as exc:
        typer.echo(f"error: permission denied: {exc.filename or exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        if exc.filename is None:  # not about a path the user named: a bug, keep the traceback
            raise
        typer.echo(f"error: {exc.strerror or exc}: {exc.filename}", err=True)
        sys.exit(2)
    except Exception as exc:
        if type(exc).__name__ == "ValidationError":  # pydantic, without importing it here
            typer.echo(f"error: {format_validation_error(exc)}", err=True)
            sys.exit(2)
        raise
    if isinstance(result, int) and result != 0:
        sys.exit(result)


if __name__ == "__main__":
    main()
