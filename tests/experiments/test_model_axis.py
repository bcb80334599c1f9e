"""Model axes (a width sweep): ``{placeholders}`` in model specs filled per axis point.

The results' ``model`` column keeps the spec's name (so a report draws one line per model
across widths); what is trained is the filled spec, which also names the cell.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lolameme.errors import ConfigError
from lolameme.experiments.cell import CellTask, train_config
from lolameme.experiments.grid import Selection, expand
from lolameme.experiments.spec_loader import load_spec, spec_from_mapping


def _spec(**extra: object) -> dict:
    spec = {
        "name": "widths",
        "title": "t",
        "paper": {"refs": ["Zoology"]},
        "task": "mqar",
        "data": {"preset": "smoke"},
        "models": ["attention@{width}*2", "base_conv@{width},attention@{width}"],
        "axes": [{"name": "width", "model_key": "width", "values": [16, 32]}],
        "splits": ["test"],
        "scales": {"smoke": {}},
    }
    spec.update(extra)
    return spec


def test_a_model_axis_fills_the_width_of_every_model(tmp_path: Path) -> None:
    cells = expand(spec_from_mapping(_spec()).at("smoke"))
    assert [(c.model, c.model_spec) for c in cells] == [
        ("attention@{width}*2", "attention@16*2"),
        ("attention@{width}*2", "attention@32*2"),
        ("base_conv@{width},attention@{width}", "base_conv@16,attention@16"),
        ("base_conv@{width},attention@{width}", "base_conv@32,attention@32"),
    ]
    assert [c.settings for c in cells[:2]] == [{"width": 16}, {"width": 32}]
    assert cells[0].cell_id.startswith("widths--smoke--attention_16_2--width=16--seed0-")
    assert len({c.fingerprint for c in cells}) == 4
    # what is trained is the filled spec
    assert train_config(CellTask(cell=cells[1], out=tmp_path, data_dir=tmp_path)).model == (
        "attention@32*2"
    )


def test_models_without_placeholders_keep_their_name_as_spec() -> None:
    spec = load_spec("zoology_mqar")
    cell = expand(spec.at("tiny"))[0]
    assert cell.model_spec == cell.model == "attention@64*2"
    assert cell.cell_id.startswith("zoology_mqar--tiny--attention_64_2--seed0-")


def test_full_form_points_may_set_placeholders() -> None:
    axis = {
        "name": "size",
        "points": [
            {"value": "s", "model": {"width": 16}, "train": {"lr": 1e-3}},
            {"value": "m", "model": {"width": 32}, "train": {"lr": 3e-4}},
        ],
    }
    cells = expand(
        spec_from_mapping(_spec(axes=[axis])).at("smoke"), Selection(models=["attention@{width}*2"])
    )
    assert [(c.model_spec, c.train["lr"]) for c in cells] == [
        ("attention@16*2", 1e-3),
        ("attention@32*2", 3e-4),
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"axes": []}, r"placeholder\(s\) \['width'\] are filled by no axis"),
        (
            {"models": ["attention*2"]},
            r"set model placeholder\(s\) \['width'\] that no model uses",
        ),
        (
            {
                "axes": [
                    {"name": "width", "model_key": "width", "values": [16]},
                    {"name": "w2", "model_key": "width", "values": [32]},
                ]
            },
            "set by two axes",
        ),
        (
            {
                "axes": [
                    {
                        "name": "width",
                        "points": [{"value": 1, "model": {"width": 16}}, {"value": 2}],
                    }
                ]
            },
            "not every point",
        ),
        (
            {"axes": [{"name": "width", "model_key": "width", "key": "x", "values": [16]}]},
            "exactly one of key, train_key, model_key",
        ),
    ],
)
def test_bad_model_axes_are_errors(extra: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        spec_from_mapping(_spec(**extra))


def test_a_figure_panel_may_slice_the_grid() -> None:
    figure = {
        "id": "f",
        "title": "t",
        "x": "width",
        "panels": [{"metric": "token_accuracy", "split": "test", "where": {"nope": 1}}],
    }
    with pytest.raises(ConfigError, match="unknown axis"):
        spec_from_mapping(_spec(figures=[figure]))
