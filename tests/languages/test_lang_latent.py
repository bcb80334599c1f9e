"""Latent types: boundaries by first letter, parsed modifications, validation."""

from __future__ import annotations

import pytest

from lolameme.errors import ConfigError
from lolameme.languages import BASE_LATENT, NO_LATENT, LatentConfig, Modification


def test_base_config_is_the_spec() -> None:
    assert (BASE_LATENT.a_end, BASE_LATENT.b_end) == (23, 26)
    assert BASE_LATENT.letter_range("A") == "abcdefghijklmnopqrstuvw"
    assert BASE_LATENT.letter_range("B") == "xyz"
    assert BASE_LATENT.letter_range("C") == ""
    assert [BASE_LATENT.type_of(n) for n in ("aB", "wq", "xnBolt", "yI", "zG")] == list("AABBB")
    assert BASE_LATENT.effective("wq", 7) == 14
    assert BASE_LATENT.effective("xnBolt", 7) == 3
    assert BASE_LATENT.effective("zG", -7) == -4  # floor division, not truncation
    assert not BASE_LATENT.is_off
    assert LatentConfig() == BASE_LATENT


def test_off_keeps_values_and_boundaries() -> None:
    assert NO_LATENT.is_off
    assert NO_LATENT.type_of("zG") == "B"  # types still exist; only modifications are empty
    assert NO_LATENT.effective("aB", 9) == NO_LATENT.effective("zG", 9) == 9


def test_boundaries_change_types_and_effective_values() -> None:
    latent = LatentConfig(a_end=2, b_end=4, mod_a="+1", mod_b="-1", mod_c="%5")
    assert [latent.type_of(n) for n in ("a", "b", "c", "d", "e", "z")] == list("AABBCC")
    assert [latent.effective(n, 12) for n in ("a", "c", "e")] == [13, 11, 2]


@pytest.mark.parametrize(
    ("text", "op", "operand", "value_7"),
    [
        ("*2", "*", 2, 14),
        ("/2", "//", 2, 3),  # the paper's '/2' on integers: floor division
        ("//3", "//", 3, 2),
        (" + 4 ", "+", 4, 11),
        ("-10", "-", 10, -3),
        ("%4", "%", 4, 3),
        ("*-1", "*", -1, -7),
        ("", "", 0, 7),
        ("  ", "", 0, 7),
    ],
)
def test_modification_parse(text: str, op: str, operand: int, value_7: int) -> None:
    mod = Modification.parse(text)
    assert (mod.op, mod.operand) == (op, operand)
    assert mod.apply(7) == value_7
    assert Modification.parse(str(mod)) == mod


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"a_end": 24, "b_end": 23}, "0 <= a_end <= b_end <= 26"),
        ({"a_end": -1}, "0 <= a_end <= b_end <= 26"),
        ({"b_end": 27}, "0 <= a_end <= b_end <= 26"),
        ({"a_end": 2.5}, "a_end must be an integer"),
        ({"mod_a": "^2"}, "mod_a: latent modification '^2'"),
        ({"mod_b": "/0"}, "mod_b: latent modification '/0' divides by zero"),
        ({"mod_c": 2}, "mod_c: latent modification must be a string"),
    ],
)
def test_invalid_configs(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="latent") as info:
        LatentConfig(**kwargs)
    assert message in str(info.value)


def test_type_of_rejects_non_names() -> None:
    with pytest.raises(ConfigError, match="lowercase"):
        BASE_LATENT.type_of("Xy")
