"""parse(render(p, dialect)) == p for every dialect, and translation is exact."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from lolameme.languages import parse, render, to_lola, to_meme


@given(data=st.data())
def test_round_trip_pure_dialects(strategies, data) -> None:
    program = data.draw(strategies.any_programs)
    for dialect in ("lola", "meme"):
        assert parse(render(program, dialect)) == program


@given(data=st.data(), seed=st.integers(0, 2**32), p_meme=st.floats(0.0, 1.0))
def test_round_trip_module_mix(strategies, data, seed: int, p_meme: float) -> None:
    program = data.draw(strategies.any_programs)
    text = render(program, "module_mix", rng=random.Random(seed), p_meme=p_meme)
    assert parse(text) == program


@given(data=st.data(), seed=st.integers(0, 2**32))
def test_translation_is_exact(strategies, data, seed: int) -> None:
    program = data.draw(strategies.any_programs)
    mixed = render(program, "module_mix", rng=random.Random(seed))
    assert to_lola(mixed) == render(program, "lola")
    assert to_meme(mixed) == render(program, "meme")
    assert to_lola(to_meme(mixed)) == to_lola(mixed)


@given(data=st.data(), spaces=st.lists(st.sampled_from(["", " ", "\t", "  \t "]), min_size=1))
def test_parser_tolerates_whitespace_runs(strategies, data, spaces: list[str]) -> None:
    program = data.draw(strategies.any_programs)
    text = render(program, "lola")
    # Re-space: every generator space becomes a drawn run (maybe none: `(2@3)` is valid),
    # and runs also go around every ';'.
    runs = iter(spaces * (2 * len(text) + 2))
    spaced = "".join(c if c != " " else next(runs) for c in text)
    spaced = spaced.replace(";", f"{next(runs)};{next(runs)}")
    assert parse(f" \n\t{spaced};  \n") == program
