"""``lolameme exec`` and ``lolameme translate``: exact stdout, one-line errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lolameme.cli import main

SRC = Path(__file__).resolve().parents[2] / "src"


def run_cli(argv: list[str], capsys, monkeypatch, stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code: int, out: str, err: str, fragment: str) -> None:
    assert code != 0
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert fragment in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "stdin", "expected"),
    [
        (["exec", "a = 7;b = 3;c = (a - (b * 5));print(c)", "--no-latent"], None, "-8\n"),
        (["exec", "a = 7;b = 3;c = (a - (b * 5));print(c)"], None, "-16\n"),
        (["exec", "--no-latent"], "a_b = 5;c = {a_b @ 3};print{c}", "15\n"),
        (["exec", "--no-latent", "-"], "a_b = 5;c = {a_b @ 3};print{c}\n", "15\n"),
        (["exec", "-"], "x = 9;c = (x @ 3);print{c}", "12\n"),
        (["translate", "--to", "meme", "xnBolt = (yI % 3);print(xnBolt)"], None,
         "xn_bolt = {y_i / 3};print{xn_bolt}\n"),
        (["translate", "--to", "lola", "-"], "zAb = {2@3};print{z_ab};",
         "zAb = (2 * 3);print(zAb)\n"),
    ],
)  # fmt: skip
def test_outputs(argv, stdin, expected, capsys, monkeypatch) -> None:
    code, out, err = run_cli(argv, capsys, monkeypatch, stdin)
    assert (code, out, err) == (0, expected, "")


def test_globals_file_in_either_spelling(tmp_path: Path, capsys, monkeypatch) -> None:
    table = tmp_path / "globals.json"
    table.write_text(json.dumps({"y_i": 7, "kNd": 4}))
    argv = ["exec", "--globals", str(table), "a = (yI + k_nd);print(a)"]
    assert run_cli(argv, capsys, monkeypatch) == (0, "11\n", "")  # 7 // 2 + 4 * 2
    assert run_cli([*argv, "--no-latent"], capsys, monkeypatch) == (0, "11\n", "")  # 7 + 4
    assert run_cli(["exec", "--globals", str(table), "print(y_i)"], capsys, monkeypatch)[1] == "7\n"


@pytest.mark.parametrize(
    ("argv", "stdin", "fragment"),
    [
        (["exec", "a = (b + c};print(a)"], None,
         "error: position 10: expected ')' to close '(' at position 4, found '}'"),
        (["exec", "-"], "", "error: position 0: empty program"),
        (["exec", "a = (1 % 0);print(a)"], None,
         "error: statement index 0 (assigning 'a'): modulo by zero"),
        (["exec", "a = b;print(a)"], None, "error: statement index 0: name 'b' is read before"),
        (["translate", "--to", "meme", "a = 1"], None, "error: position 5: missing print"),
    ],
)  # fmt: skip
def test_program_errors_are_one_line(argv, stdin, fragment, capsys, monkeypatch) -> None:
    code, out, err = run_cli(argv, capsys, monkeypatch, stdin)
    assert_one_error_line(code, out, err, fragment)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON: Expecting property name"),
        ("[1, 2]", "must hold a JSON object {name: int}, got list"),
        ('{"aB": "3"}', "value of 'aB' must be an integer, got '3'"),
        ('{"aB": true}', "value of 'aB' must be an integer, got True"),
        ('{"Ab": 3}', "invalid name 'Ab'"),
        ('{"aB": 3, "a_b": 4}', "'a_b' repeats the variable 'aB' with another value"),
        ('{"aB": ' + "9" * 5000 + "}", "holds an integer of more than 4300 digits"),
    ],
)
def test_bad_globals_files(content, fragment, tmp_path: Path, capsys, monkeypatch) -> None:
    path = tmp_path / "g.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run_cli(["exec", "--globals", str(path), "print(aB)"], capsys, monkeypatch)
    assert_one_error_line(code, out, err, fragment)
    assert "globals file" in err


def test_file_option_reads_the_program(tmp_path: Path, capsys, monkeypatch) -> None:
    program = tmp_path / "p.lola"
    program.write_text("a_b = 5;c = {a_b @ 3};print{c}\n")
    assert run_cli(["exec", "--no-latent", "-f", str(program)], capsys, monkeypatch) == (
        0,
        "15\n",
        "",
    )
    argv = ["translate", "--to", "lola", "--file", str(program)]
    assert run_cli(argv, capsys, monkeypatch) == (0, "aB = 5;c = (aB * 3);print(c)\n", "")


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        ("missing", "program file"),
        ("both", "give the program as text or as --file, not both"),
        ("path_as_text", "the argument is program text; to run the file"),
    ],
)
def test_program_file_errors(setup, fragment, tmp_path: Path, capsys, monkeypatch) -> None:
    program = tmp_path / "p.lola"
    if setup != "missing":
        program.write_text("print(1)")
    argv = {
        "missing": ["exec", "--file", str(program)],
        "both": ["exec", "print(2)", "--file", str(program)],
        "path_as_text": ["exec", str(program)],
    }[setup]
    code, out, err = run_cli(argv, capsys, monkeypatch)
    assert_one_error_line(code, out, err, fragment)
    if setup == "path_as_text":  # the parse error itself is kept, the hint follows it
        assert err.startswith("error: position 0: expected a variable name or print")
        assert f"--file {program}" in err


def test_a_long_program_text_is_not_taken_for_a_file(capsys, monkeypatch) -> None:
    code, out, err = run_cli(["exec", "a" * 5000], capsys, monkeypatch)
    assert_one_error_line(code, out, err, "error: position 5000: expected '='")
    assert "--file" not in err


def test_max_bits_past_its_range_is_a_usage_error(capsys, monkeypatch) -> None:
    argv = ["exec", "--max-bits", "99999999999999999999999", "a = 2;print(a)"]
    code, out, err = run_cli(argv, capsys, monkeypatch)
    assert code == 2 and out == "" and "--max-bits" in err and "Traceback" not in err


def test_usage_error_has_no_traceback(capsys, monkeypatch) -> None:
    code, out, err = run_cli(["translate", "print(a)"], capsys, monkeypatch)
    assert code == 2 and "Missing option '--to'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (["exec", "a = 7;b = 3;c = (a - (b * 5));print(c)", "--no-latent"], None, "-8\n"),
        (["exec", "--no-latent"], "a_b = 5;c = {a_b @ 3};print{c}", "15\n"),
    ],
)
def test_issue_examples_as_a_process(args, stdin, expected) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-m", "lolameme", *args],
        input=stdin or "",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, expected, "")


def test_error_as_a_process() -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-m", "lolameme", "exec", "a = (1 % 0);print(a)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr == "error: statement index 0 (assigning 'a'): modulo by zero\n"
