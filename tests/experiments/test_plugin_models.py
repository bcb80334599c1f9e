"""Plugin mixers and whole-model builders in experiment specs, with ``mixer_kwargs``."""

from __future__ import annotations

from pathlib import Path

import pytest

from lolameme.errors import ConfigError
from lolameme.experiments.cell import CellTask, check_cells, train_config
from lolameme.experiments.grid import expand
from lolameme.experiments.spec_loader import spec_from_mapping
from lolameme.models import SpecError

PLUGIN = "my_mixers:Scaled"
MIXER_SOURCE = """
from torch import nn
from lolameme.models import Mixer


class Scaled(Mixer):
    def __init__(self, d_model, layer_idx, n_layers, *, l_max, factor: float = 1.0):
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        self.factor, self.proj = factor, nn.Linear(d_model, d_model)

    def forward(self, u):
        return self.factor * self.proj(u)

    def state_size(self, sequence_length):
        return 0


def build(vocab_size, max_seq_len, scale):
    return nn.Embedding(vocab_size, vocab_size)
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_mixers.py").write_text(MIXER_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "my_mixers", raising=False)


def _spec(**extra: object) -> dict:
    spec = {
        "name": "plugins",
        "title": "t",
        "paper": {"refs": ["docs/models.md"]},
        "task": "mqar",
        "data": {"preset": "smoke"},
        "models": ["attention*2", f"attention,{PLUGIN}@{{width}}", "my_mixers:build"],
        "axes": [{"name": "width", "model_key": "width", "values": [16]}],
        "mixer_kwargs": {PLUGIN: {"factor": 0.5}},
        "splits": ["test"],
        "scales": {"smoke": {}},
    }
    spec.update(extra)
    return spec


def test_mixer_kwargs_reach_only_the_models_that_use_the_mixer(
    plugin: None, tmp_path: Path
) -> None:
    cells = expand(spec_from_mapping(_spec()).at("smoke"))
    assert [c.model_spec for c in cells] == [
        "attention*2",
        f"attention,{PLUGIN}@16",
        "my_mixers:build",
    ]
    assert [c.train.get("mixer_kwargs") for c in cells] == [None, {PLUGIN: {"factor": 0.5}}, None]
    configs = [train_config(CellTask(cell=c, out=tmp_path, data_dir=tmp_path)) for c in cells]
    assert configs[1].mixer_kwargs == {PLUGIN: {"factor": 0.5}}
    check_cells(cells, tmp_path)  # plugin, kwargs and builder all resolve
    other = expand(spec_from_mapping(_spec(mixer_kwargs={PLUGIN: {"factor": 2.0}})).at("smoke"))
    assert (
        other[1].fingerprint != cells[1].fingerprint
        and other[0].fingerprint == cells[0].fingerprint
    )


def test_a_scales_or_sets_mixer_kwargs_refine_the_specs(plugin: None) -> None:
    """The spec's kwargs are the base; a scale's (or --set's) train.mixer_kwargs wins
    knob by knob, where it used to be dropped for the spec's without a word."""
    scales = {"smoke": {"train": {"mixer_kwargs": {PLUGIN: {"factor": 3.0}}}}}
    cells = expand(spec_from_mapping(_spec(scales=scales)).at("smoke"))
    assert cells[1].train["mixer_kwargs"] == {PLUGIN: {"factor": 3.0}}


def test_mixer_kwargs_for_a_mixer_no_model_uses_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"mixer_kwargs for \['hyena'\]: no model uses"):
        spec_from_mapping(_spec(mixer_kwargs={"hyena": {}}))


def test_a_plugin_that_does_not_import_fails_before_any_data(plugin: None, tmp_path: Path) -> None:
    cells = expand(
        spec_from_mapping(_spec(models=["no_such_module:Mixer*2"], mixer_kwargs={}, axes=[])).at(
            "smoke"
        )
    )
    with pytest.raises(SpecError, match="spec 'no_such_module:Mixer\\*2': cannot import"):
        check_cells(cells, tmp_path)
    bad_kwargs = expand(spec_from_mapping(_spec(mixer_kwargs={PLUGIN: {"nope": 1}})).at("smoke"))
    with pytest.raises(SpecError, match="does not accept nope"):
        check_cells(bad_kwargs, tmp_path)
