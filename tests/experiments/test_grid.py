"""Grid expansion: cell identity, fingerprints, precedence of overrides, --set parsing."""

from __future__ import annotations

import pytest

from lolameme.errors import ConfigError
from lolameme.experiments.grid import Selection, expand, parse_only, parse_sets, with_sets
from lolameme.experiments.spec_loader import load_spec


def test_cells_are_model_by_setting_by_seed_with_unique_stable_ids() -> None:
    spec = load_spec("memorization")
    cells = expand(spec.at("tiny"))
    assert len(cells) == 4 * 4 * 3
    ids = [c.cell_id for c in cells]
    assert len(set(ids)) == len(ids)
    assert ids == [c.cell_id for c in expand(spec.at("tiny"))]
    assert ids[0] == "memorization--tiny--hyena--globalvar_count=10--seed0"


def test_filters_pick_models_and_seeds_in_spec_order() -> None:
    spec = load_spec("thex_variations")
    cells = expand(spec.at("tiny"), Selection(models=["thex-12", "gpt2"], seeds=[1]))
    assert [c.model for c in cells] == ["gpt2", "thex-12"]
    assert {c.seed for c in cells} == {1}


def test_only_keeps_the_named_axis_points_by_value_label_or_number() -> None:
    spec = load_spec("mqar")
    full = expand(spec.at("tiny"))
    only = parse_only(["width=128", "lr=1e-3"])
    assert only == {"width": ["128"], "lr": ["1e-3"]}
    cells = expand(spec.at("tiny"), Selection(only=only))
    assert len(cells) == len(full) // 4
    assert {c.settings["width"] for c in cells} == {128}
    assert {c.settings["lr"] for c in cells} == {0.001}
    assert [c.cell_id for c in cells] == [
        c.cell_id for c in full if c.settings["width"] == 128 and c.settings["lr"] == 0.001
    ]
    by_label = expand(spec.at("tiny"), Selection(only=parse_only(["seq_len=64 (4 pairs)"])))
    assert len(by_label) == len(full)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["width"], r"expected AXIS=VALUE"),
        (["depth=2"], r"no axis depth \(axes: width, seq_len, lr\)"),
        (["width=32"], r"--only width: no point 32 at scale 'tiny' \(values: 64, 128\)"),
    ],
)
def test_only_errors_name_the_axis_and_its_values(items, message) -> None:
    with pytest.raises(ConfigError, match=message):
        expand(load_spec("mqar").at("tiny"), Selection(only=parse_only(items)))


def test_unknown_model_lists_the_experiments_models() -> None:
    with pytest.raises(ConfigError, match=r"unknown model\(s\) 'thex-99' .*valid: 'hyena'; 'gpt2'"):
        expand(load_spec("thex_variations").at("tiny"), Selection(models=["thex-99"]))


@pytest.mark.parametrize(
    ("name", "extra"),
    [("thex_variations", ["hyena,attention"]), ("zoology_mqar", [])],  # zoology's: shipped
)
def test_the_list_of_valid_models_is_split_where_specs_are_not(name: str, extra: list[str]) -> None:
    """Hybrid specs contain commas: the list must use a separator they cannot contain."""
    spec = load_spec(name)
    spec = spec.model_copy(update={"models": [*spec.models, *extra]})
    assert any("," in m for m in spec.models)
    with pytest.raises(ConfigError) as caught:
        expand(spec.at("tiny"), Selection(models=["nope"]))
    listed = str(caught.value).split("valid: ", 1)[1].rstrip(")")
    assert listed.split("; ") == [repr(m) for m in spec.models]


def test_unknown_scale_is_an_error_naming_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="valid: smoke, tiny, small, paper"):
        expand(load_spec("thex_variations").at("medium"))


def test_fingerprint_follows_settings_that_change_numbers() -> None:
    spec = load_spec("layer_scan")
    base = expand(spec.at("tiny"), Selection(models=["gpt2"], seeds=[0]))[0]
    more_steps = expand(
        with_sets(spec.at("tiny"), parse_sets(["train.steps=999"])),
        Selection(models=["gpt2"], seeds=[0]),
    )[0]
    other_seed = expand(spec.at("tiny"), Selection(models=["gpt2"], seeds=[1]))[0]
    assert base.cell_id == more_steps.cell_id
    assert base.fingerprint != more_steps.fingerprint
    assert base.fingerprint != other_seed.fingerprint
    assert (
        base.fingerprint
        == expand(spec.at("tiny"), Selection(models=["gpt2"], seeds=[0]))[0].fingerprint
    )
    logged = with_sets(spec.at("tiny"), parse_sets(["train.tensorboard=true", "train.wandb=true"]))
    assert base.fingerprint == expand(logged, Selection(models=["gpt2"], seeds=[0]))[0].fingerprint


def test_override_precedence_spec_then_scale_then_axis_point() -> None:
    spec = load_spec("long_input")
    paper = expand(spec.at("paper"), Selection(models=["gpt2"], seeds=[0]))[0]
    tiny = expand(spec.at("tiny"), Selection(models=["gpt2"], seeds=[0]))[0]
    assert paper.data.overrides["GLOBALVAR_COUNT"] == 1000  # the spec's own
    assert tiny.data.overrides["GLOBALVAR_COUNT"] == 20  # the scale's wins
    mem = load_spec("memorization")
    points = [
        c.data.overrides["GLOBALVAR_COUNT"]
        for c in expand(mem.at("tiny"), Selection(models=["gpt2"], seeds=[0]))
    ]
    assert points == [10, 20, 40, 80]  # the axis point wins over the scale's 10


def test_parse_sets_keeps_dotted_data_keys_and_yaml_values() -> None:
    sets = parse_sets(
        [
            "data.OPERATORS.LOLA=[+, -]",
            "train.lr=3e-4",
            "eval.limit=50",
            "data.preset=tiny",
            "seeds=[0, 1]",
        ]
    )
    assert sets == {
        "data": {"overrides": {"OPERATORS.LOLA": ["+", "-"]}, "preset": "tiny"},
        "train": {"lr": 3e-4},
        "eval": {"limit": 50},
        "seeds": [0, 1],
    }


@pytest.mark.parametrize("item", ["steps=3", "optim.lr=1", "train=3", "train.steps"])
def test_bad_set_items_are_errors(item: str) -> None:
    with pytest.raises(ConfigError, match="bad --set"):
        parse_sets([item])


def test_with_sets_changes_only_the_chosen_scale_and_validates() -> None:
    spec = load_spec("layer_scan")
    changed = with_sets(spec.at("tiny"), parse_sets(["data.GLOBALVAR_COUNT=30", "seeds=[5]"]))
    assert changed.settings.data.overrides["GLOBALVAR_COUNT"] == 30
    assert list(changed.seeds) == [5]
    assert changed.spec.scales["paper"] == spec.scales["paper"]
    with pytest.raises(ConfigError, match="--set"):
        with_sets(spec.at("tiny"), parse_sets(["eval.limt=3"]))
