"""The parser: mixed dialects, tolerated whitespace, and one positioned error per mistake."""

from __future__ import annotations

import pytest

from lolameme.languages import (
    MAX_NESTING,
    NO_LATENT,
    Assign,
    BinOp,
    Num,
    Op,
    ParseError,
    Program,
    Var,
    evaluate,
    parse,
)


def test_mixed_dialects_and_spellings_are_one_program() -> None:
    expected = Program((Assign("zAb", BinOp(Op.MUL, Num(2), Num(3))), Assign("c", Var("zAb"))), "c")
    for text in (
        "zAb = (2 * 3);c = zAb;print(c)",
        "z_ab = {2 @ 3};c = z_ab;print{c}",
        "zAb = (2@3);c = z_ab;print{c}",
        "  z_ab=(2@3) ;\tc =  zAb;print ( c ) ;  \n",
    ):
        assert parse(text) == expected


def test_each_operator_and_bracket_pair_may_switch_dialect() -> None:
    program = parse("a = {(1 | 2) - {3 * (4 / 5)}};print(a)")
    assert program.statements[0].value == BinOp(
        Op.SUB,
        BinOp(Op.ADD, Num(1), Num(2)),
        BinOp(Op.MUL, Num(3), BinOp(Op.MOD, Num(4), Num(5))),
    )


def test_print_only_and_leading_zeros() -> None:
    assert parse("print(x)") == Program((), "x")
    assert parse("a = 007;print(a)").statements[0].value == Num(7)


# (text, error position, message after "position N: ")
MALFORMED = [
    # unbalanced or mismatched brackets
    ("a = (b + c};print(a)", 10, "expected ')' to close '(' at position 4, found '}'"),
    ("a = {b + c);print(a)", 10, "expected '}' to close '{' at position 4, found ')'"),
    ("a = (b + c;print(a)", 10, "expected ')' to close '(' at position 4, found ';'"),
    ("a = (b + c", 10, "expected ')' to close '(' at position 4, found end of input"),
    ("a = (b + c));print(a)", 11, "unmatched ')': no bracket is open here"),
    ("a = ((1 + 2) 3);print(a)", 13, "expected an operator (+ - * % or | ! @ /), found '3'"),
    ("a = ();print(a)", 5, "expected a name, a number, '(' or '{', found ')'"),
    ("a = 1;print(a}", 13, "expected ')' to close '(' at position 11, found '}'"),
    ("a = 1;print{a", 13, "expected '}' to close '{' at position 11, found end of input"),
    # a missing print, text after print
    ("a = 5", 5, "missing print statement: expected ';' then print(NAME)"),
    ("a = 5;", 6, "missing print statement: a program ends with print(NAME)"),
    ("a = 5;b = 6 ", 11, "missing print statement: expected ';' then print(NAME)"),
    ("a = 5;print(a) b = 1", 15, "unexpected text after the print statement: 'b'"),
    ("a = 5;print(a);b = 1;print(b)", 15, "unexpected text after the print statement: 'b'"),
    ("a = 5;print(a);;", 15, "unexpected text after the print statement: ';'"),
    ("a = 5;print a", 12, "expected '(' or '{' after print, found 'a'"),
    ("a = 5;print(5)", 12, "expected a name to print, found '5'"),
    ("a = 5;print()", 12, "expected a name to print, found ')'"),
    ("print = 5;print(print)", 0, "'print' is reserved and cannot be assigned"),
    # unknown characters, malformed tokens
    ("a = 5 $ 3;print(a)", 6, "expected ';', found '$'"),
    ("a = $;print(a)", 4, "unexpected character '$'"),
    ("a = 5;\nprint(a)", 6, "expected a variable name or print, found a line break"),
    ("a = (1 ^ 2);print(a)", 7, "expected an operator (+ - * % or | ! @ /), found '^'"),
    ("a = -5;print(a)", 4, "expected a name, a number, '(' or '{', found '-'"),
    ("a = 12ab;print(a)", 4, "invalid number '12ab' (a number is decimal digits only)"),
    ("a = 5 + 3;print(a)", 6, "expected ';', found '+'"),
    ("a 5;print(a)", 2, "expected '=', found '5'"),
    ("5 = a;print(a)", 0, "expected a variable name or print, found '5'"),
    # names starting with '_' or an upper-case letter, or otherwise misspelt
    (
        "_a = 5;print(_a)",
        0,
        "invalid name '_a': a name must start with a lowercase letter, not '_'",
    ),
    (
        "a = 5;b = (a + Ab);print(b)",
        15,
        "invalid name 'Ab': a name must start with a lowercase letter, not an upper-case one",
    ),
    (
        "a = 5;print(X)",
        12,
        "invalid name 'X': a name must start with a lowercase letter, not an upper-case one",
    ),
    ("a__b = 1;print(a)", 0, "invalid name 'a__b': MeMe names cannot contain '__'"),
    ("ab_ = 1;print(a)", 0, "invalid name 'ab_': MeMe names cannot end with '_'"),
    (
        "a_bC = 1;print(a)",
        0,
        "invalid name 'a_bC': a name is spelt either LoLa (camelCase) or MeMe (snake_case), "
        "not both",
    ),
    ("a1 = 1;print(a)", 0, "invalid name 'a1': a name holds ASCII letters and '_' only, found '1'"),
    # empty input
    ("", 0, "empty program: expected statements ending with print(NAME)"),
    (" \n\t ", 0, "empty program: expected statements ending with print(NAME)"),
]


@pytest.mark.parametrize(("text", "position", "message"), MALFORMED)
def test_malformed_inputs(text: str, position: int, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.position == position
    assert str(info.value) == f"position {position}: {message}"


def test_positions_count_leading_whitespace() -> None:
    with pytest.raises(ParseError) as info:
        parse("   a = (b + c};print(a)")
    assert str(info.value) == "position 13: expected ')' to close '(' at position 7, found '}'"


def test_a_one_megabyte_program_parses_and_runs() -> None:
    statement = "counter = (counter + 1);"
    count = (1 << 20) // len(statement) + 1
    text = "counter = 0;" + statement * count + "print(counter)"
    assert len(text) > 1 << 20
    program = parse(text)
    assert len(program.statements) == count + 1
    assert evaluate(program, None, NO_LATENT) == count


def test_a_one_megabyte_nesting_is_a_clear_error_not_a_crash() -> None:
    text = "a = " + "(" * (1 << 20) + "1" + " + 1)" * (1 << 20) + ";print(a)"
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.position == 4 + MAX_NESTING
    assert f"nested deeper than {MAX_NESTING} levels" in str(info.value)


def test_maximum_nesting_is_accepted() -> None:
    depth = MAX_NESTING
    text = "a = " + "(" * depth + "1" + " + 1)" * depth + ";print(a)"
    assert evaluate(parse(text), None, NO_LATENT) == depth + 1


def test_a_huge_number_is_a_clear_error() -> None:
    with pytest.raises(ParseError, match="position 4: number with 1000000 digits is too long"):
        parse("a = " + "9" * 1_000_000 + ";print(a)")
