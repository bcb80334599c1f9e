"""Every command's help: plain usage lines, defaults in one style, required options marked."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from lolameme.cli import _usage_piece, app


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "lolameme")
def test_help_has_one_style(path: tuple[str, ...]) -> None:
    text = _help(path)
    usage = next(line for line in text.splitlines() if line.startswith("Usage:"))
    assert "{" not in usage, usage  # typer's '{run}' for a required argument reads as a template
    body = text.replace(usage, "")
    for hint in re.findall(r"\[([^\[\]]*)\]\s*$", body, flags=re.M):
        # every trailing bracket is a default, a required mark or a range; never a bare '[64]'
        assert re.match(r"(default: |required|x[<>]=|\d+<=x)", hint), (path, hint)


def test_usage_pieces() -> None:
    assert _usage_piece("{run}") == "RUN"
    assert _usage_piece("[program]") == "[PROGRAM]"
    assert _usage_piece("[OPTIONS]") == "[OPTIONS]"
    assert _usage_piece("{paths}...") == "PATHS..."


def test_train_marks_its_required_options() -> None:
    text = _help(("train",))
    assert "lolameme train --data DIR --model SPEC --out DIR [OPTIONS]" in text
    for option in ("--data", "--model"):
        line = next(x for x in text.splitlines() if x.strip().startswith(option))
        assert "[required unless --resume]" in line


def test_shell_completion_is_offered() -> None:
    text = _help(())
    assert "--install-completion" in text and "--show-completion" in text
