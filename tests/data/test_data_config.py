"""The LoLa/MeMe config: the paper's own dict validates; every bad value is a clear error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lolameme.data.generate import config_hash, normalize_keys, parse_override, resolve_config
from lolameme.data.tasks import get_task
from lolameme.data.tasks.lolameme.config import (
    LolamemeConfig,
    global_schedule,
    latent_config,
    type_weights,
    variable_length_range,
)
from lolameme.data.tasks.lolameme.presets import PRESETS
from lolameme.errors import ConfigError

# Appendix A.1 as printed (keys, typos and all).
PAPER_BASECONFIG = {
    "LANGUAGE": "LOLA",
    "OPERATORS.LOLA": ["+", "-", "*", "%"],
    "OPERATORS.MEME": ["|", "!", "@", "/"],
    "GROUPING.LOLA": ["(", ")"],
    "GROUPING.MEME": ["{", "}"],
    "CASE.LOLA": "camel",
    "CASE.MEME": "snake",
    "VAR_NAME_UNDERSCORE_PROBABILITY": 0.5,
    "LATENT_CARACTER_ASCILA": 23,
    "LATENT_CARACTER_ASCILB": -1,
    "LATENT_CARACTER_ASCILC": -1,
    "LATENT_VARIABLE_PROBABILITY": (0.3, 0.4),
    "LATENT_TYPE_A_MODIFICATION": "*2",
    "LATENT_TYPE_B_MODIFICATION": "/2",
    "LATENT_TYPE_C_MODIFICATION": "/2",
    "GLOBALVAR_COUNT": 500,
    "LOCAL_VAR_COUNT": 10,
    "STATEMENT_COUNT": 5,
    "EXPRESSION_MIN_DEPTH": 1,
    "EXPRESSION_MAX_DEPTH": 2,
    "MIN-VAR-LENGTH": 3,
    "MAX_VAR_LENGTH": 10,
    "MIN_INT_VALUE": 1,
    "MAX_INT_VALUE": 100,
    "DATASET_SIZE": int(1e5),
    "TEST_DATASET_SIZE": int(1e4),
    "GLOBAL_VARIABLES_NUM_APPEARANCE": 1000,
    "USE_FAKER": False,
}


def test_the_papers_baseconfig_validates_and_is_the_default() -> None:
    config = LolamemeConfig.model_validate(PAPER_BASECONFIG)
    assert config == LolamemeConfig()
    assert (config.latent_a_end, config.latent_b_end) == (23, 26)
    latent = latent_config(config)
    assert latent.modification("A").apply(5) == 10 and latent.modification("B").apply(5) == 2
    # C is empty in the base config, so its share goes to B (docs/languages.md section 3).
    assert type_weights(config) == pytest.approx((0.3, 0.7, 0.0))


def test_memorization_key_spelling_and_clean_names_are_accepted() -> None:
    assert LolamemeConfig.model_validate({"GLOBAL_VAR_COUNT": 100}).globalvar_count == 100
    assert LolamemeConfig.model_validate({"LATENT_A_END": 20}).latent_a_end == 20
    assert LolamemeConfig(latent_b_end=-1).latent_b_end == 26


def test_unknown_key_is_an_error_naming_it() -> None:
    task = get_task("lolameme")
    with pytest.raises(ConfigError, match="unknown key 'STATEMENT_CONT'.*statement_count"):
        resolve_config(task, "base", {"STATEMENT_CONT": 3})
    with pytest.raises(ValidationError, match=r"STATEMENTS\s+Extra inputs are not permitted"):
        LolamemeConfig.model_validate({"STATEMENTS": 3})


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("MIN_VAR_LENGTH", "MAX_VAR_LENGTH"),
        ("MIN_INT_VALUE", "MAX_INT_VALUE"),
        ("EXPRESSION_MIN_DEPTH", "EXPRESSION_MAX_DEPTH"),
    ],
)
def test_min_above_max_names_both_fields(low: str, high: str) -> None:
    with pytest.raises(ConfigError) as err:
        LolamemeConfig.model_validate({low: 9, high: 4})
    assert low.lower() in str(err.value) and high.lower() in str(err.value)


@pytest.mark.parametrize("key", ["DATASET_SIZE", "TEST_DATASET_SIZE", "SHARD_SIZE"])
def test_zero_size_is_rejected(key: str) -> None:
    with pytest.raises(ConfigError, match=key.lower()):
        resolve_config(get_task("lolameme"), "base", {key: 0})


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"OPERATORS.LOLA": ["+", "/"]}, "operators_lola"),
        ({"OPERATORS.MEME": []}, "operators_meme"),
        ({"OPERATORS.LOLA": ["+"], "OPERATORS.MEME": ["@"], "LANGUAGE": "module_mix"}, "share"),
        ({"VAR_NAME_UNDERSCORE_PROBABILITY": 1.5}, "var_name_underscore_probability"),
        ({"CONSTANT_SHARE": -0.1}, "constant_share"),
        ({"LATENT_VARIABLE_PROBABILITY": [0.8, 0.4]}, "sums to 1.2"),
        ({"LATENT_TYPE_A_MODIFICATION": "^2"}, "mod_a"),
        ({"LATENT_A_END": 25, "LATENT_B_END": 20}, "latent_a_end"),
        ({"GROUPING.LOLA": ["[", "]"]}, "grouping_lola"),
        ({"CASE.MEME": "camel"}, "case_meme"),
        ({"TEST_SPLITS": ["test_typo"]}, "test_typo"),
        ({"GLOBALVAR_COUNT": 0}, "need globals"),
        ({"MEAN_VAR_LENGTH": 8, "MIN_VAR_LENGTH": 3}, "set only one"),
        ({"LANGUAGE": "french"}, "language"),
    ],
)
def test_bad_values_are_one_clear_error(overrides: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        resolve_config(get_task("lolameme"), "base", overrides)


def test_variable_length_range_follows_appendix_a2() -> None:
    assert [variable_length_range(m) for m in (3, 4, 5, 6, 7, 8, 9)] == [
        (2, 4),
        (3, 5),
        (4, 6),
        (4, 8),
        (5, 9),
        (6, 10),
        (7, 11),
    ]
    config = LolamemeConfig(mean_var_length=8)
    assert (config.min_var_length, config.max_var_length) == (6, 10)


def test_global_schedule_is_the_smallest_sufficient_share() -> None:
    assert global_schedule(LolamemeConfig()) == 5  # 500 globals x 1000 / 1e5 items
    assert global_schedule(LolamemeConfig(globalvar_count=1000, dataset_size=100_000)) == 10
    assert global_schedule(LolamemeConfig(global_variables_num_appearance=0)) == 0
    with pytest.raises(ConfigError, match="at most 15"):
        LolamemeConfig(dataset_size=1000)


def test_every_preset_validates() -> None:
    task = get_task("lolameme")
    assert set(PRESETS) >= {
        "base",
        "memorization",
        "variable_length",
        "long_input",
        "operator_pretraining",
        "mixed",
        "tiny",
    }
    for name in PRESETS:
        resolve_config(task, name)
    assert resolve_config(task, "long_input").statement_count == 15
    assert resolve_config(task, "operator_pretraining").globalvar_count == 0
    with pytest.raises(ConfigError, match="unknown preset 'nope'.*valid: base"):
        resolve_config(task, "nope")


def test_overrides_parse_json_and_any_spelling_wins_over_the_preset() -> None:
    assert parse_override('OPERATORS.LOLA=["+"]') == ("OPERATORS.LOLA", ["+"])
    assert parse_override("LANGUAGE=meme") == ("LANGUAGE", "meme")
    assert parse_override("NOISE_SHARE=null") == ("NOISE_SHARE", None)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("STATEMENT_COUNT")
    task = get_task("lolameme")
    config = resolve_config(task, "long_input", {"statement_count": 7}, seed=3)
    assert (config.statement_count, config.seed) == (7, 3)
    with pytest.raises(ConfigError, match="both set 'globalvar_count'"):
        normalize_keys(LolamemeConfig, {"GLOBALVAR_COUNT": 1, "global_var_count": 2}, "--set")


def test_config_hash_is_stable_and_sensitive() -> None:
    a, b = LolamemeConfig(), LolamemeConfig.model_validate(PAPER_BASECONFIG)
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash(LolamemeConfig(seed=1))
    assert len(config_hash(a)) == 64
