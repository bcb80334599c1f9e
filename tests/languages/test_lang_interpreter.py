"""Interpreter semantics (docs/languages.md section 3), checked against a Python oracle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lolameme.languages import (
    BASE_LATENT,
    NO_LATENT,
    Assign,
    BinOp,
    EvaluationError,
    LatentConfig,
    ModuloByZeroError,
    Num,
    Op,
    Program,
    UnassignedNameError,
    Var,
    evaluate,
    parse,
    run,
)

# --- the independent oracle ------------------------------------------------------------
# It writes the program as Python source and lets Python run it. Latent types are applied
# textually: each variable operand `v` of an operator becomes `(v<suffix>)`, the suffix
# chosen from the first letter by the oracle's own rule table (not by LatentConfig).
_PY_OPS = {Op.ADD: "+", Op.SUB: "-", Op.MUL: "*", Op.MOD: "%"}
BASE_RULES = {letter: ("*2" if letter < "x" else "//2") for letter in "abcdefghijklmnopqrstuvwxyz"}
OFF_RULES = dict.fromkeys(BASE_RULES, "")
# An unusual configuration, to show the knobs are honoured: a-e "+3", f-l "-1", m-z "%7".
ODD_LATENT = LatentConfig(a_end=5, b_end=12, mod_a="+3", mod_b="-1", mod_c="%7")
ODD_RULES = {
    letter: ("+3" if letter <= "e" else "-1" if letter <= "l" else "%7") for letter in BASE_RULES
}


def _py(expr, rules: dict[str, str], operand: bool) -> str:
    if isinstance(expr, Num):
        return str(expr.value)
    if isinstance(expr, Var):
        name = "v_" + expr.name
        return f"({name}{rules[expr.name[0]]})" if operand else name
    left, right = _py(expr.left, rules, True), _py(expr.right, rules, True)
    return f"({left} {_PY_OPS[expr.op]} {right})"


def oracle(program: Program, globals_: dict[str, int], rules: dict[str, str]) -> int:
    source = "\n".join(f"v_{s.target} = {_py(s.value, rules, False)}" for s in program.statements)
    namespace = {"v_" + k: v for k, v in globals_.items()}
    try:
        exec(compile(source + f"\n__out__ = v_{program.output}", "<oracle>", "exec"), namespace)
    except ZeroDivisionError:
        raise ModuloByZeroError(-1, "?") from None
    except NameError:
        raise UnassignedNameError(-1, "?") from None
    return namespace["__out__"]


def outcome(fn, *args):
    try:
        return fn(*args)
    except EvaluationError as exc:  # compare the error class, not the message
        return type(exc)


@pytest.mark.parametrize(
    ("latent", "rules"),
    [(BASE_LATENT, BASE_RULES), (NO_LATENT, OFF_RULES), (ODD_LATENT, ODD_RULES)],
    ids=["base", "off", "odd"],
)
@settings(max_examples=300)
@given(data=st.data(), values=st.lists(st.integers(-20, 20), min_size=10, max_size=10))
def test_interpreter_agrees_with_python(strategies, data, values, latent, rules) -> None:
    program = data.draw(strategies.pool_programs)
    # Every pool name a global (mostly successful runs), then only three of them, then none
    # (mostly unassigned-name errors): the outcome, value or error class, must agree.
    everything = dict(zip(strategies.pool, values, strict=True))
    some = {k: everything[k] for k in ("yI", "kNd", "zG")}
    for table in (everything, some, {}):
        expected = outcome(oracle, program, table, rules)
        assert outcome(evaluate, program, table or None, latent) == expected


# --- the rules one by one ---------------------------------------------------------------


def value(text: str, latent: LatentConfig = BASE_LATENT, globals_=None) -> int:
    return evaluate(parse(text), globals_, latent)


def test_spec_done_when_examples() -> None:
    assert value("a = 7;b = 3;c = (a - (b * 5));print(c)", NO_LATENT) == -8
    assert value("a_b = 5;c = {a_b @ 3};print{c}", NO_LATENT) == 15
    # Latent on: a, b, c are type A (*2) as operands.
    assert value("a = 7;b = 3;c = (a - (b * 5));print(c)") == 14 - 30


def test_copy_and_print_use_stored_values() -> None:
    assert value("a = 7;b = a;print(b)") == 7
    assert value("a = 7;print(a)") == 7
    assert value("x = 7;y = (x + 0);print(y)") == 3  # operand: 7 // 2


def test_literals_are_never_modified_and_nested_results_are_not_retyped() -> None:
    assert value("a = (2 * 3);print(a)") == 6
    # (x + 1) is a value, not a variable: it is not modified again by the outer operator.
    assert value("x = 9;a = ((x + 1) * 1);print(a)") == 5


def test_modulo_is_python_floor_modulo() -> None:
    assert value("a = (0 - 7);b = (a % 3);print(b)", NO_LATENT) == 2
    assert value("a = (7 % (0 - 3));print(a)", NO_LATENT) == -2


def test_values_are_unbounded_integers() -> None:
    text = "a = 99999;" + "a = (a * a);" * 6 + "print(a)"
    assert value(text, NO_LATENT) == 99999 ** (2**6)


def test_modulo_by_zero_in_an_unprinted_statement() -> None:
    with pytest.raises(ModuloByZeroError) as info:
        value("a = 1;b = (a % 0);c = 2;print(c)", NO_LATENT)
    assert (info.value.statement_index, info.value.name) == (1, "b")
    assert str(info.value) == "statement index 1 (assigning 'b'): modulo by zero"
    # A divisor that only becomes zero through its latent type: x = 1 -> 1 // 2 == 0.
    with pytest.raises(ModuloByZeroError):
        value("x = 1;b = (5 % x);print(x)")
    assert value("x = 1;b = (5 % x);print(b)", NO_LATENT) == 0


def test_unassigned_names() -> None:
    with pytest.raises(UnassignedNameError) as info:
        value("a = 1;b = (a + q_r);print(b)")
    assert (info.value.statement_index, info.value.name) == (1, "qR")
    assert "statement index 1" in str(info.value) and "'qR'" in str(info.value)
    with pytest.raises(UnassignedNameError) as info:
        value("a = 1;print(zz)")
    assert info.value.statement_index == 1 and "print statement" in str(info.value)
    # A later assignment does not help an earlier read.
    with pytest.raises(UnassignedNameError):
        value("a = b;b = 1;print(a)")


def test_globals_are_read_only_when_not_assigned() -> None:
    table = {"gV": 10, "zq": 4}
    assert value("a = (gV + zq);print(a)", globals_=table) == 20 + 2
    assert value("print(gV)", globals_=table) == 10
    assert value("gV = 1;a = (gV + 0);print(a)", globals_=table) == 2  # assignment shadows
    assert table == {"gV": 10, "zq": 4}  # the table is never written


def test_run_returns_the_environment() -> None:
    assert run(parse("a = 1;b = (a + 1);print(b)"), None, NO_LATENT) == {"a": 1, "b": 2}


def test_deep_hand_built_expression_is_a_clear_error() -> None:
    expr = Num(1)
    for _ in range(5000):
        expr = BinOp(Op.ADD, expr, Num(1))
    with pytest.raises(EvaluationError, match="nested too deeply"):
        evaluate(Program((Assign("a", expr),), "a"), None, NO_LATENT)


def test_each_latent_knob_changes_the_label() -> None:
    text = "a = 5;x = 5;m = 5;r = ((a + x) + m);print(r)"
    base = value(text)
    assert base == 10 + 2 + 10
    assert value(text, NO_LATENT) == 15
    assert value(text, LatentConfig(a_end=12)) == 10 + 2 + 2  # m becomes type B
    assert value(text, LatentConfig(a_end=24)) == 10 + 10 + 10  # x becomes type A
    assert value(text, LatentConfig(b_end=23, mod_c="+1")) == 10 + 6 + 10
    assert value(text, LatentConfig(mod_a="*3")) == 15 + 2 + 15
    assert value(text, LatentConfig(mod_b="")) == 10 + 5 + 10
