"""Rendering: the exact spacing of the spec, module-mix draws, and refusals."""

from __future__ import annotations

import random

import pytest

from lolameme.languages import (
    Assign,
    BinOp,
    InvalidNameError,
    Num,
    Op,
    Program,
    RenderError,
    Var,
    parse,
    render,
)

SPEC_EXAMPLE = "tmrGk = 24;xnBolt = (yI % aL);oZ = ((dVfa - tmrGk) * 3);print(xnBolt)"
EXAMPLE = Program(
    (
        Assign("tmrGk", Num(24)),
        Assign("xnBolt", BinOp(Op.MOD, Var("yI"), Var("aL"))),
        Assign("oZ", BinOp(Op.MUL, BinOp(Op.SUB, Var("dVfa"), Var("tmrGk")), Num(3))),
    ),
    "xnBolt",
)


def test_lola_matches_the_spec_example_exactly() -> None:
    assert render(EXAMPLE) == SPEC_EXAMPLE
    assert render(EXAMPLE, "lola") == SPEC_EXAMPLE


def test_meme_spelling() -> None:
    assert (
        render(EXAMPLE, "meme")
        == "tmr_gk = 24;xn_bolt = {y_i / a_l};o_z = {{d_vfa ! tmr_gk} @ 3};print{xn_bolt}"
    )


def test_print_only_program() -> None:
    assert render(Program((), "aB"), "lola") == "print(aB)"
    assert render(Program((), "aB"), "meme") == "print{a_b}"


def test_module_mix_extremes_are_the_pure_dialects() -> None:
    rng = random.Random(0)
    assert render(EXAMPLE, "module_mix", rng=rng, p_meme=0.0) == render(EXAMPLE, "lola")
    assert render(EXAMPLE, "module_mix", rng=rng, p_meme=1.0) == render(EXAMPLE, "meme")


def test_module_mix_is_reproducible_and_mixes_each_construct() -> None:
    texts = [render(EXAMPLE, "module_mix", rng=random.Random(7)) for _ in range(2)]
    assert texts[0] == texts[1]
    rng = random.Random(1)
    many = [render(EXAMPLE, "module_mix", rng=rng, p_meme=0.3) for _ in range(2000)]
    # Each construct is drawn on its own: mixed brackets inside one program do occur, and
    # the MeMe share of every construct is close to p_meme.
    assert any("{" in t and "(d" in t for t in many)
    share_print = sum(t.endswith("}") for t in many) / len(many)
    share_name = sum(t.startswith("tmr_gk") for t in many) / len(many)
    share_op = sum("@" in t for t in many) / len(many)
    for share in (share_print, share_name, share_op):
        assert 0.25 < share < 0.35
    assert all(parse(t) == EXAMPLE for t in many)


@pytest.mark.parametrize(
    ("program", "kwargs", "error", "message"),
    [
        (EXAMPLE, {"dialect": "python"}, RenderError, "unknown dialect 'python'"),
        (EXAMPLE, {"dialect": "module_mix"}, RenderError, "needs an explicit rng"),
        (
            EXAMPLE,
            {"dialect": "module_mix", "rng": random.Random(0), "p_meme": 1.5},
            RenderError,
            "p_meme must be in [0, 1]",
        ),
        (Program((Assign("a", Num(-1)),), "a"), {}, RenderError, "literal -1 is negative"),
        (Program((), "xn_bolt"), {}, InvalidNameError, "MeMe spelling"),
        (Program((), "Ab"), {"dialect": "meme"}, InvalidNameError, "lowercase letter"),
        (Program((), "print"), {}, InvalidNameError, "reserved"),
    ],
)
def test_render_refusals(program: Program, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        render(program, **kwargs)
    assert message in str(info.value)
