"""Every knob of the LoLa/MeMe config changes what it claims to change.

Each test is registered with the knobs it covers; the last test fails when a config
field has no test (mad-lab's bug: a parameter never wired through to the generator).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from lolameme.data.generate import resolve_config
from lolameme.data.tasks import get_task
from lolameme.data.tasks.lolameme.config import LolamemeConfig
from lolameme.data.tasks.lolameme.names import faker_words
from lolameme.data.tasks.lolameme.verify import program_facts
from lolameme.errors import ConfigError
from lolameme.languages import NO_LATENT, BinOp, ModuloByZeroError, Num, evaluate, parse, render
from lolameme.languages.ast import expr_depth

COVERED: set[str] = set()


def knob(*fields: str) -> Callable:
    def register(fn: Callable) -> Callable:
        COVERED.update(fields)
        return fn

    return register


def all_names(ds) -> list[str]:
    return [*ds.globals, *ds.manifest["locals"]]


def statements(ds, split: str = "train"):
    return [st for p in ds.programs(split) for st in p.statements]


@knob("language")
def test_language_chooses_the_dialect(build) -> None:
    lola, meme = build("base", LANGUAGE="lola"), build("base", LANGUAGE="MEME")
    for ds, dialect in ((lola, "lola"), (meme, "meme")):
        frame = ds.splits["train"]
        assert set(frame["language"]) == {dialect}
        assert all(render(parse(t), dialect) == t for t in frame["program"])
    assert all("print{" in t and "(" not in t for t in meme.splits["train"]["program"])
    sample = build("base", LANGUAGE="sample_mix").splits["train"]
    assert set(sample["language"]) == {"lola", "meme"}
    module = build("base", LANGUAGE="module_mix").splits["train"]
    assert set(module["language"]) == {"module_mix"}
    mixed = [t for t in module["program"] if "(" in t and "{" in t]
    assert len(mixed) > len(module) // 2


@knob("meme_share")
def test_meme_share_sets_the_mix(build) -> None:
    for share, expected in ((0.0, {"lola"}), (1.0, {"meme"})):
        ds = build("base", LANGUAGE="sample_mix", MEME_SHARE=share)
        assert set(ds.splits["train"]["language"]) == expected
    some = build("base", LANGUAGE="sample_mix", MEME_SHARE=0.2).splits["train"]["language"]
    assert 0.1 < (some == "meme").mean() < 0.3
    module = build("base", LANGUAGE="module_mix", MEME_SHARE=1.0).splits["train"]["program"]
    assert all(render(parse(t), "meme") == t for t in module)


@knob("operators_lola", "operators_meme")
def test_operator_lists_restrict_the_operators(build) -> None:
    lola = " ".join(build("base", **{"OPERATORS.LOLA": ["+"]}).splits["train"]["program"])
    assert "+" in lola and not set("-*%") & set(lola)
    meme = build("base", LANGUAGE="meme", **{"OPERATORS.MEME": ["@", "/"]})
    text = " ".join(meme.splits["train"]["program"])
    assert "@" in text and "/" in text and not set("|!") & set(text)


@knob("grouping_lola", "grouping_meme", "case_lola", "case_meme")
def test_grouping_and_case_are_the_languages_own(build) -> None:
    # Fixed by the spec (docs/languages.md): the paper's values validate, anything else is refused.
    task = get_task("lolameme")
    for key, bad in (("GROUPING.LOLA", ["{", "}"]), ("GROUPING.MEME", ["(", ")"])):
        field = key.lower().replace(".", "_")
        with pytest.raises(ConfigError, match=f"field '{field}[.']"):
            resolve_config(task, "base", {key: bad})
    for key, bad in (("CASE.LOLA", "snake"), ("CASE.MEME", "camel")):
        field = key.lower().replace(".", "_")
        with pytest.raises(ConfigError, match=f"field '{field}': Input should be"):
            resolve_config(task, "base", {key: bad})
    lola, meme = build("base"), build("base", LANGUAGE="meme")
    assert not any("{" in t or "_" in t for t in lola.splits["train"]["program"])
    assert not any(re.search("[A-Z(]", t) for t in meme.splits["train"]["program"])


@knob("var_name_underscore_probability")
def test_break_probability_shapes_names(build) -> None:
    none = all_names(build("base", VAR_NAME_UNDERSCORE_PROBABILITY=0.0))
    assert all(n.islower() for n in none)
    every = all_names(build("base", VAR_NAME_UNDERSCORE_PROBABILITY=1.0))
    assert all(n[1:].isupper() for n in every if len(n) > 1)
    half = all_names(build("base"))
    share = sum(c.isupper() for n in half for c in n[1:]) / sum(len(n) - 1 for n in half)
    assert 0.4 < share < 0.6


@knob("latent_a_end", "latent_b_end", "latent_c_end", "latent_variable_probability")
def test_latent_ranges_and_probabilities_choose_first_letters(build) -> None:
    cases = [
        ({"LATENT_VARIABLE_PROBABILITY": [1, 0], "LATENT_A_END": 5}, "abcde"),
        ({"LATENT_VARIABLE_PROBABILITY": [0, 1], "LATENT_A_END": 5, "LATENT_B_END": 8}, "fgh"),
        ({"LATENT_VARIABLE_PROBABILITY": [0, 0], "LATENT_B_END": 24}, "yz"),
    ]
    for overrides, letters in cases:
        firsts = {n[0] for n in all_names(build("base", **overrides))}
        assert firsts <= set(letters) and len(firsts) > 1, overrides
    base = [n[0] for n in all_names(build("base"))]
    share_b = sum(c in "xyz" for c in base) / len(base)
    assert 0.55 < share_b < 0.85  # p_B 0.4 plus the empty C's 0.3
    # the original's name for the end of type C: fixed at 26 (z), so 20 is refused
    with pytest.raises(ConfigError, match="field 'latent_c_end': Input should be 26"):
        resolve_config(get_task("lolameme"), "base", {"LATENT_CARACTER_ASCILC": 20})


@pytest.mark.parametrize(
    ("letter", "only_this_type"),
    [
        ("a", {"LATENT_VARIABLE_PROBABILITY": [1, 0]}),
        ("b", {"LATENT_VARIABLE_PROBABILITY": [0, 1]}),
        ("c", {"LATENT_VARIABLE_PROBABILITY": [0, 0], "LATENT_B_END": 24}),
    ],
)
@knob("latent_type_a_modification", "latent_type_b_modification", "latent_type_c_modification")
def test_each_type_modification_changes_labels(build, letter: str, only_this_type) -> None:
    key = f"LATENT_TYPE_{letter.upper()}_MODIFICATION"
    off = {"LATENT_TYPE_A_MODIFICATION": "", "LATENT_TYPE_B_MODIFICATION": ""}
    off["LATENT_TYPE_C_MODIFICATION"] = ""
    plain = build("base", **only_this_type, **off)
    assert (plain.splits["train"]["latent_mods"] == 0).all()
    shifted = build("base", **only_this_type, **{**off, key: "+1000"})
    frame = shifted.splits["train"]
    assert (frame["latent_mods"] > 0).any()
    differs = [
        _unmodified(p, shifted.globals) != label
        for p, label in zip(shifted.programs("train"), frame["label"], strict=True)
    ]
    assert sum(differs) > len(differs) // 4


def _unmodified(program, globals_) -> str:
    try:
        return str(evaluate(program, globals_, NO_LATENT))
    except ModuloByZeroError:  # valid only thanks to the modification
        return "error"


@knob("globalvar_count")
def test_globalvar_count_is_the_number_of_globals(build) -> None:
    assert len(build("base", GLOBALVAR_COUNT=7, GLOBAL_VARIABLES_NUM_APPEARANCE=5).globals) == 7
    assert len(build("base", GLOBALVAR_COUNT=23).globals) == 23


@knob("local_var_count")
def test_local_var_count_bounds_the_locals(build) -> None:
    ds = build("base", LOCAL_VAR_COUNT=3)
    used = {n for p in ds.programs("train") for n in ds_names(p)} - set(ds.globals)
    assert len(ds.manifest["locals"]) == 3 and used == set(ds.manifest["locals"])


def ds_names(program) -> set[str]:
    found = {st.target for st in program.statements}
    for st in program.statements:
        stack = [st.value]
        while stack:
            node = stack.pop()
            if isinstance(node, BinOp):
                stack += [node.left, node.right]
            elif not isinstance(node, Num):
                found.add(node.name)
    return found


@knob("statement_count")
def test_statement_count_is_the_program_length(build) -> None:
    for count in (2, 7):
        ds = build("base", STATEMENT_COUNT=count)
        assert (ds.splits["train"]["n_statements"] == count).all()
        assert {len(p.statements) for p in ds.programs("test_with_global")} == {count}


@knob("expression_min_depth", "expression_max_depth", "plain_assignment_share")
def test_depth_knobs_bound_every_statement(build) -> None:
    deep = build("base", PLAIN_ASSIGNMENT_SHARE=0.0, EXPRESSION_MIN_DEPTH=2, EXPRESSION_MAX_DEPTH=3)
    depths = {expr_depth(st.value) for st in statements(deep)}
    assert depths == {2, 3}
    assert deep.splits["train"]["max_depth"].max() == 3
    flat = build("base", PLAIN_ASSIGNMENT_SHARE=1.0)
    assert {expr_depth(st.value) for st in statements(flat)} == {0}
    half = [expr_depth(st.value) for st in statements(build("base", EXPRESSION_MAX_DEPTH=1))]
    assert 0.35 < half.count(0) / len(half) < 0.65  # PLAIN_ASSIGNMENT_SHARE 0.5
    copy = build(
        "base",
        EXPRESSION_MIN_DEPTH=0,
        EXPRESSION_MAX_DEPTH=0,
        STATEMENT_COUNT=1,
        GLOBALVAR_COUNT=0,
        TEST_SPLITS=["test_without_global"],
        DATASET_SIZE=200,
        TEST_DATASET_SIZE=50,
    )
    assert all(re.fullmatch(r"\w+ = \d+;print\(\w+\)", t) for t in copy.splits["train"]["program"])


@knob("min_var_length", "max_var_length", "mean_var_length")
def test_length_knobs_bound_every_name(build) -> None:
    lengths = {len(n) for n in all_names(build("base", MIN_VAR_LENGTH=4, MAX_VAR_LENGTH=5))}
    assert lengths == {4, 5}
    lengths = {len(n) for n in all_names(build("base", MEAN_VAR_LENGTH=9))}
    assert min(lengths) >= 7 and max(lengths) <= 11 and len(lengths) > 2


@knob("min_int_value", "max_int_value")
def test_int_range_bounds_literals_and_global_values(build, helpers) -> None:
    ds = build("base", MIN_INT_VALUE=40, MAX_INT_VALUE=45)
    literals = {v for st in statements(ds) for v in helpers.literals_in(st.value)}
    assert literals and literals <= set(range(40, 46))
    assert set(ds.globals.values()) <= set(range(40, 46))


@knob("use_faker")
def test_use_faker_draws_english_words(build) -> None:
    words = [w for ws in faker_words().values() for w in ws if len(w) >= 3]

    def english(name: str) -> bool:
        low = name.lower()
        return any(low.startswith(w) or w.startswith(low) for w in words)

    faker = all_names(build("base", USE_FAKER=True))
    letters = all_names(build("base"))
    assert sum(map(english, faker)) / len(faker) > 0.9
    assert sum(map(english, letters)) / len(letters) < 0.3


@knob("global_assignment_share")
def test_global_assignment_share_controls_global_targets(build) -> None:
    never = build("base", GLOBAL_ASSIGNMENT_SHARE=0.0)
    assert not [st for st in statements(never) if st.target in never.globals]
    often = build("base", GLOBAL_ASSIGNMENT_SHARE=1.0)
    plain = [st for st in statements(often) if expr_depth(st.value) == 0]
    assert sum(st.target in often.globals for st in plain) / len(plain) > 0.6


@knob("constant_share")
def test_constant_share_controls_literal_leaves(build, helpers) -> None:
    none = build("base", CONSTANT_SHARE=0.0)
    own = [st for st in statements(none) if st.target not in none.globals]
    assert not [v for st in own for v in helpers.literals_in(st.value)]
    only = build("base", CONSTANT_SHARE=1.0)
    for p in only.programs("test_without_global"):
        assert not ds_names(p) - {st.target for st in p.statements}  # no variable reads


@knob("noise_share")
def test_noise_share_sets_the_number_of_noise_statements(build) -> None:
    for share, expected in ((0.0, 0), (0.6, 3), (1.0, 4)):
        ds = build("base", NOISE_SHARE=share, STATEMENT_COUNT=5)
        for split in ds.splits:
            for p in ds.programs(split):
                assert program_facts(p, set(ds.globals), NO_LATENT)["noise_statements"] == expected
    natural = build("base").splits["train"]["noise_statements"]
    assert natural.nunique() > 1


@knob("dataset_size", "test_dataset_size", "shard_size")
def test_sizes_set_row_and_shard_counts(build) -> None:
    ds = build("base", DATASET_SIZE=450, TEST_DATASET_SIZE=30, SHARD_SIZE=100)
    assert len(ds.splits["train"]) == 450 and len(ds.splits["test_with_global"]) == 30
    assert len(ds.manifest["splits"]["train"]["files"]) == 5


@knob("global_variables_num_appearance")
def test_appearance_knob_raises_the_minimum_count(build) -> None:
    def least(ds) -> int:
        counts = {g: 0 for g in ds.globals}
        for names in ds.splits["train"]["global_names"]:
            for n in names:
                counts[n] += 1
        return min(counts.values())

    free = build("base", GLOBAL_VARIABLES_NUM_APPEARANCE=0)
    forced = build("base", GLOBAL_VARIABLES_NUM_APPEARANCE=250)
    assert least(free) < 250 <= least(forced)
    assert forced.manifest["global_schedule_per_item"] == 10


@knob("test_splits")
def test_test_splits_choose_the_splits(build) -> None:
    ds = build("base", TEST_SPLITS=["test_module_mix", "test_without_global"])
    assert set(ds.splits) == {"train", "test_module_mix", "test_without_global"}
    assert set(ds.splits["test_module_mix"]["language"]) == {"module_mix"}


@knob("seed")
def test_seed_changes_the_data(build) -> None:
    a, b = build("base", SEED=5), build("base", SEED=6)
    assert a.globals != b.globals
    assert list(a.splits["train"]["program"]) != list(b.splits["train"]["program"])


def test_every_knob_has_a_test() -> None:
    assert set(LolamemeConfig.model_fields) - COVERED == set()
    assert COVERED - set(LolamemeConfig.model_fields) == set()
