"""Every command the documentation gives to run parses: a reader who copies one gets a run,
not a usage error.

Checked: each ``lolameme`` command in a ``bash`` block of the README and ``docs/``, and each
command of the findings' "reproduce" column. Parsing goes through the real command tree
(arguments, required options, types), without running anything. Upper-case words
(``RUN``, ``DIR``, ``N``) stand for a value the reader fills in and are parsed as ``1``;
a line with a shell variable, an optional ``[...]`` part or ``...`` is a template and is
skipped.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from lolameme.cli import _USAGE_ERRORS, app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md"] + [
    p for p in sorted((ROOT / "docs").rglob("*.md")) if p.name != "report.md"
]
FINDINGS = ROOT / "docs" / "results" / "findings.md"
OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&", "(", ")"}
EAGER = {"--help", "-h", "--version", "--install-completion", "--show-completion"}
PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]*")


def _split(line: str) -> list[list[str]]:
    """The simple commands of one shell line (split at pipes, ``&&``, ``;``, redirections)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, current = [], []
    for token in lexer:
        if token in OPERATORS or set(token) <= set("|&;<>()"):
            commands.append(current)
            current = []
        else:
            current.append(token)
    return [c for c in [*commands, current] if c]


def _block_commands(path: Path) -> list[str]:
    found = []
    for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", path.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            found.append(line.strip().removeprefix("$ "))
    return found


def _findings_commands() -> list[str]:
    rows = [x for x in FINDINGS.read_text().splitlines() if re.match(r"\| \d+ \|", x)]
    return [c for row in rows for c in re.findall(r"`(lolameme [^`]+)`", row.split("|")[-2])]


def _documented() -> list[tuple[str, str]]:
    lines = [(p.relative_to(ROOT).as_posix(), x) for p in DOCS for x in _block_commands(p)]
    lines += [("docs/results/findings.md (reproduce)", x) for x in _findings_commands()]
    found = []
    for where, line in lines:
        if "$" in line or "[" in line or "..." in line:  # a template, not a command
            continue
        for command in _split(line):
            if command[0] == "lolameme" and not EAGER & set(command):
                found.append((where, shlex.join(command)))
    return found


DOCUMENTED = _documented()


def test_the_docs_give_commands_to_check() -> None:
    assert len(DOCUMENTED) >= 40
    assert sum(w.endswith("(reproduce)") for w, _ in DOCUMENTED) >= 10


@pytest.mark.parametrize(("where", "command"), DOCUMENTED, ids=lambda x: x[:60])
def test_documented_command_parses(where: str, command: str) -> None:
    args = [
        "1" if PLACEHOLDER.fullmatch(a) and not a.startswith("-") else a
        for a in shlex.split(command)[1:]
    ]
    node, path = typer.main.get_command(app), ["lolameme"]
    while getattr(node, "commands", None) and args and args[0] in node.commands:
        path.append(args[0])
        node = node.commands[args.pop(0)]
    try:
        node.make_context(" ".join(path), args)
    except _USAGE_ERRORS as exc:
        pytest.fail(f"{where}: `{command}`: {exc.format_message()}")
