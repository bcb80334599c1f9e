"""parse(render(p, dialect)) == p for every dialect, and translation is exact."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lolameme.languages import parse, parser, render, to_lola, to_meme


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


@given(data=st.data())
def test_leaf_cache_gives_the_same_programs_cold_warm_and_after_overflow(strategies, data) -> None:
    """Parsing through the leaf cache (issue 19) is invisible: a cold parse, a warm one
    and one whose cache keeps overflowing (limit 2) all equal the rendered program, and
    the nodes it builds are ordinary frozen nodes (equal hash, no assignment)."""
    program = data.draw(strategies.any_programs)
    for dialect in ("lola", "meme"):
        text = render(program, dialect)
        parser._LEAVES.clear()
        cold = parse(text)
        warm = parse(text)
        limit = parser._LEAF_CACHE_LIMIT
        parser._LEAF_CACHE_LIMIT = 2
        parser._LEAVES.clear()
        try:
            small = parse(text)
            assert len(parser._LEAVES) <= 2
        finally:
            parser._LEAF_CACHE_LIMIT = limit
        assert cold == warm == small == program
        assert hash(cold) == hash(program)
        for statement in cold.statements:
            with pytest.raises(dataclasses.FrozenInstanceError):
                statement.target = "x"  # type: ignore[misc]
