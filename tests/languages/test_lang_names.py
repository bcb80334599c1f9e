"""The LoLa <-> MeMe name spelling is a bijection, and invalid spellings are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lolameme.languages import InvalidNameError, letter_count, to_lola_name, to_meme_name
from lolameme.languages.names import is_lola_name, is_meme_name


@pytest.mark.parametrize(
    ("lola", "meme"),
    [
        ("xnBolt", "xn_bolt"),
        ("a", "a"),
        ("xYBr", "x_y_br"),
        ("aL", "a_l"),
        ("dnmQTvq", "dnm_q_tvq"),
        ("printX", "print_x"),
    ],
)
def test_known_spellings(lola: str, meme: str) -> None:
    assert to_meme_name(lola) == meme
    assert to_lola_name(meme) == lola
    assert to_lola_name(lola) == lola  # a canonical name is its own canonical form
    assert letter_count(lola) == letter_count(meme) == len(lola)


@given(data=st.data())
def test_bijection_from_lola(strategies, data) -> None:
    name = data.draw(strategies.lola_names)
    meme = to_meme_name(name)
    assert is_meme_name(meme)
    assert to_lola_name(meme) == name
    assert letter_count(meme) == len(name)
    assert meme.replace("_", "") == name.lower()


@given(st.from_regex(r"[a-z]{1,4}(_[a-z]{1,4}){0,3}", fullmatch=True))
def test_bijection_from_meme(meme: str) -> None:
    if meme == "print":
        return
    assert to_meme_name(to_lola_name(meme)) == meme


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "cannot be empty"),
        ("_ab", "not '_'"),
        ("Ab", "not an upper-case one"),
        ("a__b", "'__'"),
        ("ab_", "cannot end with '_'"),
        ("a_B", "not both"),
        ("aB_c", "not both"),
        ("a1", "found '1'"),
        ("é", "lowercase ASCII letter"),
        ("print", "reserved"),
    ],
)
def test_invalid_names(name: str, reason: str) -> None:
    for convert in (to_lola_name, to_meme_name):
        with pytest.raises(InvalidNameError, match="invalid name") as info:
            convert(name)
        assert reason in str(info.value)
        assert info.value.name == name


def test_to_meme_name_refuses_a_meme_spelling() -> None:
    # Canonical names are LoLa; passing a MeMe spelling where canonical is expected is a bug.
    with pytest.raises(InvalidNameError, match="MeMe spelling"):
        to_meme_name("xn_bolt")
    assert is_lola_name("xnBolt") and not is_lola_name("xn_bolt")
