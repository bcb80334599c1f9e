"""The shipped specs: they load, they hold the paper's grids and numbers, bad specs fail."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lolameme.errors import ConfigError
from lolameme.experiments.grid import Selection, expand
from lolameme.experiments.spec import EXPERIMENT_SCALES
from lolameme.experiments.spec_loader import (
    available_experiments,
    deep_merge,
    load_spec,
    spec_from_mapping,
)

PAPER_SPECS = {
    "thex_variations": "Table 1",
    "thex_variations_meme": "Table 6",
    "layer_scan": "Table 7",
    "memorization": "Figure 1",
    "variable_length": "Figure 3",
    "operator_pretraining": "Table 2",
    "long_input": "Table 3",
    "multi_language": "Table 4",
    "listops": "Table 5",
}


def _minimal(**extra: object) -> dict:
    spec = {
        "name": "mini",
        "title": "t",
        "paper": {"refs": ["Table 1"]},
        "data": {"preset": "base"},
        "models": ["hyena", "gpt2"],
        "splits": ["test_with_global"],
    }
    spec.update(extra)
    return spec


def test_every_paper_experiment_is_shipped_with_its_reference() -> None:
    names = available_experiments()
    for name, ref in PAPER_SPECS.items():
        assert name in names
        spec = load_spec(name)
        assert ref in spec.paper.refs
        assert set(spec.scales) == set(EXPERIMENT_SCALES)


def test_thex_variations_tiny_grid_is_eleven_models_by_three_seeds() -> None:
    spec = load_spec("thex_variations")
    cells = expand(spec.at("tiny"))
    assert len(cells) == 33
    assert {c.model for c in cells} == {"hyena", "gpt2"} | {f"thex-{n}" for n in range(9, 18)}
    assert {c.seed for c in cells} == {0, 1, 2}
    # the paper's structure survives the shrinking: 5 statements, globals to memorise
    overrides = cells[0].data.overrides
    assert overrides["GLOBALVAR_COUNT"] > 0 and overrides.get("STATEMENT_COUNT", 5) == 5


def test_smoke_scale_keeps_every_model_with_one_seed_and_few_steps() -> None:
    for name in available_experiments():
        spec = load_spec(name)
        cells = expand(spec.at("smoke"))
        assert {c.model for c in cells} == set(spec.models)
        assert {c.seed for c in cells} == {0}
        assert all(c.train["steps"] <= 5 for c in cells)


def test_tables_carry_the_papers_numbers_for_every_row() -> None:
    table1 = load_spec("thex_variations").tables[0]
    assert table1.paper["thex-12"]["with_global"] == (0.3631, 0.0351)
    assert table1.paper["gpt2"]["without_global"] == (0.0036, 0.0002)
    table6 = load_spec("thex_variations_meme").tables[0]
    assert table6.paper["thex-13"]["with_global"] == (0.2148, 0.0659)
    assert load_spec("layer_scan").tables[0].paper["thex-14"]["with_global"] == 0.3369
    table5 = load_spec("listops").tables[0]
    assert table5.paper["thex-4"]["em"] == 0.362 and table5.paper["hyena"]["em"] == 0.185


def test_listops_runs_the_table5_models_on_its_own_task_at_every_scale() -> None:
    spec = load_spec("listops")
    assert spec.task == "listops" and spec.splits == ["test"]
    presets = {"smoke": "smoke", "tiny": "listops-small", "paper": "listops-lra"}
    for scale, preset in presets.items():
        cells = expand(spec.at(scale))
        assert {c.model for c in cells} == {
            "gpt2",
            "hyena",
            "thex-1",
            "thex-4",
            "thex-13",
            "thex-15",
        }
        assert {c.data.preset for c in cells} == {preset}
        assert all(not c.data.overrides for c in cells)  # no LoLa knobs leak in
    assert {c.train["epochs"] for c in expand(spec.at("paper"))} == {1}
    assert load_spec("operator_pretraining").tables[0].paper["hyena"]["with"] == (0.6726, 0.0239)
    assert load_spec("long_input").tables[0].paper["hyena"]["with_global"] == 0.044
    assert load_spec("multi_language").tables[0].paper["thex-13"]["sample_mix"] == 0.738
    for name in (
        "thex_variations",
        "thex_variations_meme",
        "layer_scan",
        "operator_pretraining",
        "long_input",
        "multi_language",
    ):
        spec = load_spec(name)
        for table in spec.tables:
            assert set(table.paper) == set(table.rows or spec.models), (name, table.id)


def test_meme_variant_extends_lola_and_only_changes_language_and_numbers() -> None:
    lola, meme = load_spec("thex_variations"), load_spec("thex_variations_meme")
    assert lola.data.overrides["LANGUAGE"] == "LOLA"
    assert meme.data.overrides["LANGUAGE"] == "MEME"
    assert meme.models == lola.models and meme.scales == lola.scales
    assert [v.id for v in meme.verdicts] == [v.id for v in lola.verdicts]


def test_memorization_sweeps_globals_100_to_1000_at_paper_scale() -> None:
    spec = load_spec("memorization")
    values = [
        c.settings["globalvar_count"]
        for c in expand(spec.at("paper"), Selection(models=["gpt2"], seeds=[0]))
    ]
    assert values == list(range(100, 1001, 100))
    cell = expand(spec.at("paper"), Selection(models=["gpt2"], seeds=[0]))[3]
    assert cell.data.overrides["GLOBALVAR_COUNT"] == 400


def test_variable_length_sweeps_the_mean_name_length() -> None:
    spec = load_spec("variable_length")
    cells = expand(spec.at("paper"), Selection(models=["gpt2"], seeds=[0]))
    assert [c.settings["mean_var_length"] for c in cells] == list(range(3, 10))
    for cell in cells:
        m = cell.settings["mean_var_length"]
        assert cell.data.overrides["MEAN_VAR_LENGTH"] == m  # the data layer sets the range
        assert cell.data.preset == "variable_length"  # no latent types
    labels = [p.label for p in spec.axes[0].points_for("paper")]
    assert labels == [f"{m} [{round(0.75 * m)},{round(1.25 * m)}]" for m in range(3, 10)]
    # the tiny defaults' explicit name lengths are dropped, so they cannot clash with it
    for scale in ("smoke", "tiny"):
        overrides = expand(spec.at(scale))[0].data.overrides
        assert "MIN_VAR_LENGTH" not in overrides and "MAX_VAR_LENGTH" not in overrides


def test_operator_pretraining_point_switches_preset_and_training_length() -> None:
    spec = load_spec("operator_pretraining")
    cells = {
        c.settings["regime"]: c
        for c in expand(spec.at("paper"), Selection(models=["gpt2"], seeds=[0]))
    }
    assert cells["base"].data.preset == "base"
    assert cells["pretrain"].data.preset == "operator_pretraining"
    assert cells["pretrain"].train["steps"] == 1_280_000
    assert "epochs" not in cells["pretrain"].train  # null in the point removes the default
    assert "epochs" in cells["base"].train


def test_long_input_keeps_15_statements_at_every_scale() -> None:
    spec = load_spec("long_input")
    for scale in EXPERIMENT_SCALES:
        assert expand(spec.at(scale))[0].data.overrides["STATEMENT_COUNT"] == 15


@pytest.mark.parametrize("scale", EXPERIMENT_SCALES)
def test_every_data_config_is_valid_for_the_data_layer(scale: str) -> None:
    from lolameme.experiments.cell import data_config

    for name in available_experiments():
        spec = load_spec(name)
        if scale not in spec.scales:  # an optional scale a spec does not run (mqar: small)
            continue
        requests = {c.data.key(): c.data for c in expand(spec.at(scale))}
        for request in requests.values():
            config = data_config(request)  # raises a ConfigError naming the problem
            if request.task == "lolameme":
                assert config.statement_count >= 5, name


def test_unknown_experiment_lists_valid_names() -> None:
    with pytest.raises(ConfigError) as err:
        load_spec("thex_variation")
    assert "thex_variations" in str(err.value) and "memorization" in str(err.value)


def test_unknown_scale_lists_valid_scales() -> None:
    with pytest.raises(ConfigError, match=r"no scale 'huge' \(valid: smoke, tiny, small, paper\)"):
        load_spec("layer_scan").at("huge")


def test_misspelt_key_is_rejected() -> None:
    with pytest.raises(ConfigError, match="modles.*unknown key"):
        spec_from_mapping(_minimal(modles=["gpt2"]))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {
                "tables": [
                    {
                        "id": "t",
                        "title": "t",
                        "where": {"nope": 1},
                        "columns": [{"id": "c", "label": "c", "split": "test_with_global"}],
                    }
                ]
            },
            "unknown axis",
        ),
        (
            {
                "tables": [
                    {
                        "id": "t",
                        "title": "t",
                        "columns": [{"id": "c", "label": "c", "split": "test_elsewhere"}],
                    }
                ]
            },
            "not evaluated",
        ),
        (
            {
                "tables": [
                    {
                        "id": "t",
                        "title": "t",
                        "paper": {"thex-99": {"c": 0.1}},
                        "columns": [{"id": "c", "label": "c", "split": "test_with_global"}],
                    }
                ]
            },
            "thex-99",
        ),
        (
            {
                "verdicts": [
                    {"kind": "beats", "id": "v", "question": "?", "a": ["rwkv"], "b": ["gpt2"]}
                ]
            },
            "rwkv",
        ),
        (
            {"axes": [{"name": "n", "key": "GLOBALVAR_COUNT", "values": {"tiny": [1]}}]},
            "no values for scale",
        ),
    ],
)
def test_dangling_references_are_errors(extra: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        spec_from_mapping(_minimal(**extra))


def test_spec_from_a_yaml_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(_minimal(name="mine")))
    spec = load_spec(str(path))
    assert spec.name == "mine" and spec.at("tiny").settings.train["steps"] > 0  # defaults merged


def test_deep_merge_merges_mappings_and_null_deletes() -> None:
    base = {"a": {"x": 1, "y": 2}, "l": [1, 2], "k": 1}
    assert deep_merge(base, {"a": {"y": 3, "z": 4}, "l": [9], "k": None}) == {
        "a": {"x": 1, "y": 3, "z": 4},
        "l": [9],
    }
    assert base == {"a": {"x": 1, "y": 2}, "l": [1, 2], "k": 1}  # not mutated


def test_a_token_task_spec_with_an_lr_sweep_fits_the_schema() -> None:
    """Room for the mqar/listops specs: another task, accuracy metrics, best lr kept."""
    from lolameme.experiments.cell import data_config

    spec = spec_from_mapping(
        {
            "name": "mqar_like",
            "title": "t",
            "paper": {"refs": ["Zoology Figure 2"]},
            "task": "mqar",
            "data": {"preset": "smoke"},
            "models": ["attention*2", "base_conv*2"],
            "axes": [
                {"name": "lr", "label": "learning rate", "train_key": "lr", "values": [1e-3, 3e-3]}
            ],
            "splits": ["test"],
            "select_best": {"axis": "lr", "metric": "token_accuracy", "split": "test"},
            "tables": [
                {
                    "id": "acc",
                    "title": "accuracy",
                    "columns": [
                        {
                            "id": "acc",
                            "label": "accuracy",
                            "metric": "token_accuracy",
                            "split": "test",
                        }
                    ],
                }
            ],
        }
    )
    cells = expand(spec.at("smoke"))
    assert len(cells) == 4
    assert {c.train["lr"] for c in cells} == {1e-3, 3e-3}
    assert all(c.data.overrides == {} for c in cells)  # no LoLa/MeMe knobs leak in
    assert data_config(cells[0].data).num_kv_pairs > 0


def test_the_optional_small_scale_needs_every_per_scale_axis_to_name_it() -> None:
    axis = {"name": "n", "key": "GLOBALVAR_COUNT", "values": {s: [1] for s in EXPERIMENT_SCALES}}
    assert "small" in spec_from_mapping(_minimal(axes=[axis])).scales
    del axis["values"]["small"]
    spec = spec_from_mapping(_minimal(axes=[axis]))
    assert set(spec.scales) == set(EXPERIMENT_SCALES) - {"small"}  # the others are still required
    del axis["values"]["paper"]
    with pytest.raises(ConfigError, match="no values for scale"):
        spec_from_mapping(_minimal(axes=[axis]))


def test_small_scale_runs_the_papers_task_on_one_gpu() -> None:
    spec = load_spec("thex_variations")
    small = spec.at("small").settings
    cells = expand(spec.at("small"))
    assert len(cells) == 33
    overrides = dict(cells[0].data.overrides)
    assert overrides["GLOBALVAR_COUNT"] == 100 and overrides["DATASET_SIZE"] == 100_000
    for knob in ("EXPRESSION_MAX_DEPTH", "LATENT_TYPE_A_MODIFICATION", "OPERATORS.LOLA"):
        assert knob not in overrides  # operators and latent types as in the paper
    assert small.train["init"] == "pytorch" and small.train["tie_embeddings"] is False


def test_depth1_table1_is_the_curriculums_scratch_point_at_the_depth1_lr() -> None:
    """thex_variations_depth1's Hyena, GPT-2 and THEX-13 cells train on the curriculum's
    "depth 1 from scratch" data for as many steps, at calibration round 6's lr: the
    grids differ in the lr alone, so their numbers compare."""
    from lolameme.data.generate import resolve_config
    from lolameme.data.tasks import get_task

    task = get_task("lolameme")
    table1 = load_spec("thex_variations_depth1")
    assert table1.paper.refs == ["Table 1"] and set(table1.scales) == {"smoke", "tiny"}
    select = Selection(models=["hyena", "gpt2", "thex-13"])
    ours = {(c.model, c.seed): c for c in expand(table1.at("tiny"), select)}
    theirs = {
        (c.model, c.seed): c
        for c in expand(load_spec("curriculum").at("tiny"), select)
        if c.settings["stage"] == "scratch"
    }
    assert ours.keys() == theirs.keys() and len(ours) == 9
    for key, cell in ours.items():
        other = theirs[key]
        assert cell.train == {**other.train, "lr": 1.5e-3} and cell.train["steps"] == 1500
        configs = [
            resolve_config(task, c.data.preset, c.data.overrides, c.data.seed)
            for c in (cell, other)
        ]
        assert configs[0] == configs[1]
        assert configs[0].expression_min_depth == configs[0].expression_max_depth == 1
    pretraining = expand(load_spec("operator_pretraining").at("tiny"))
    assert {c.train["lr"] for c in pretraining} == {1.5e-3}


FULL_TASK_SETS = [
    "data.LATENT_TYPE_A_MODIFICATION=*2",
    "data.LATENT_TYPE_B_MODIFICATION=/2",
    "data.LATENT_TYPE_C_MODIFICATION=/2",
    "data.DATASET_SIZE=32000",
    "train.steps=6000",
    "train.warmup=600",
]


def test_full_task_table1_is_the_depth1_grid_with_round_7s_flags() -> None:
    """thex_variations_full's cells are the depth-1 grid's under calibration round 7's
    `--set` flags (its committed cells ran that way, tagged): the same data, settings
    and seeds, so either command reproduces them."""
    from lolameme.data.generate import resolve_config
    from lolameme.data.tasks import get_task
    from lolameme.experiments.runner import plan

    task = get_task("lolameme")
    full = load_spec("thex_variations_full")
    assert full.paper.refs == ["Table 1"] and set(full.scales) == {"smoke", "tiny"}
    ours = {(c.model, c.seed): c for c in expand(full.at("tiny"))}
    _, tagged = plan("thex_variations_depth1", "tiny", Selection(sets=FULL_TASK_SETS))
    theirs = {(c.model, c.seed): c for c in tagged}
    assert ours.keys() == theirs.keys() and len(ours) == 33
    for key, cell in ours.items():
        other = theirs[key]
        assert cell.train == other.train and cell.train["steps"] == 6000
        configs = [
            resolve_config(task, c.data.preset, c.data.overrides, c.data.seed)
            for c in (cell, other)
        ]
        assert configs[0] == configs[1] and configs[0].dataset_size == 32000


def test_a_child_spec_opts_out_of_a_scale_with_null(tmp_path: Path) -> None:
    parent = tmp_path / "parent.yaml"
    parent.write_text(
        yaml.safe_dump(_minimal(name="parent", scales={"tiny": {"train": {"steps": 7}}}))
    )
    child = tmp_path / "child.yaml"
    child.write_text(
        yaml.safe_dump({"extends": str(parent), "name": "child", "scales": {"paper": None}})
    )
    spec = load_spec(str(child))
    assert "paper" not in spec.scales and spec.name == "child"
    assert spec.scales["tiny"].train["steps"] == 7  # the parent's scale survives
    assert "paper" in load_spec(str(parent)).scales
    with pytest.raises(ConfigError, match="paper"):
        spec.at("paper")
