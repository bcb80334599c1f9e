"""The compiled sampler (built by setup.py from data/tasks/lolameme/sampler.py) is a
drop-in for the pure one: the same rows for every kind of item, and never used once it is
out of date."""

from __future__ import annotations

import random
import sys
import types

import pytest

from lolameme.data.generate import generate
from lolameme.data.store import MANIFEST
from lolameme.data.tasks.lolameme import sampler
from lolameme.data.tasks.lolameme.compiled import PURE_ENV, compiled_sampler, sampler_module

SMALL = {
    "DATASET_SIZE": 1500,
    "TEST_DATASET_SIZE": 300,
    "GLOBALVAR_COUNT": 40,
    "GLOBAL_VARIABLES_NUM_APPEARANCE": 20,
}
ALL_TESTS = ["test_with_global", "test_without_global", "test_sample_mix", "test_module_mix"]
# One config per code path of the sampler: the paper's process in both languages and
# mixed, controlled noise, literals beyond the prebuilt leaves, Faker names, no latent
# types, long names.
CONFIGS = {
    "base": ("base", {}),
    "meme": ("base", {"LANGUAGE": "meme"}),
    "mixed": ("mixed", {"TEST_SPLITS": ALL_TESTS}),
    "noise": ("base", {"NOISE_SHARE": 0.4, "STATEMENT_COUNT": 6}),
    "noise_mixed": ("mixed", {"NOISE_SHARE": 0.5, "TEST_SPLITS": ALL_TESTS}),
    "big_literals": ("base", {"MAX_INT_VALUE": 200_000, "CONSTANT_SHARE": 0.6}),
    "huge_literals": ("base", {"MIN_INT_VALUE": 10**19, "MAX_INT_VALUE": 10**20}),
    "faker": ("base", {"USE_FAKER": True}),
    "variable_length": ("variable_length", {"MEAN_VAR_LENGTH": 8}),
}


@pytest.fixture()
def built() -> types.ModuleType:
    module = compiled_sampler()
    if module is None:
        pytest.skip("no compiled sampler: the install had no Cython or no C compiler")
    return module


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_compiled_and_pure_generate_identical_files(built, name, tmp_path, monkeypatch) -> None:
    preset, overrides = CONFIGS[name]
    manifests = []
    for pure in ("1", ""):
        monkeypatch.setenv(PURE_ENV, pure)
        out = tmp_path / (pure or "compiled")
        generate("lolameme", preset, {**SMALL, **overrides}, out, workers=1)
        manifests.append((out / MANIFEST).read_text())
    assert manifests[0] == manifests[1]


def test_pure_environment_variable_selects_the_pure_module(built, monkeypatch) -> None:
    monkeypatch.setenv(PURE_ENV, "1")
    assert sampler_module() is sampler
    monkeypatch.setenv(PURE_ENV, "0")
    assert sampler_module() is built


def test_compiled_items_are_row_for_row_the_pure_ones(built) -> None:
    from lolameme.data.tasks.lolameme.config import LolamemeConfig
    from lolameme.data.tasks.lolameme.names import draw_names

    config = LolamemeConfig.model_validate({"LANGUAGE": "sample_mix", "MEME_SHARE": 0.5})
    names = draw_names(config, 0)
    rows = []
    for module in (sampler, built):
        item_sampler = module.ItemSampler(config, names)
        rng = random.Random(7)
        drawn = []
        for split in ("train", "test_with_global", "test_module_mix", "test_without_global"):
            policy = module.SplitPolicy.for_split(config, split)
            drawn += [item_sampler.draw(rng, policy) for _ in range(300)]
        rows.append(drawn)
    assert rows[0] == rows[1]
    assert sum(row is not None for row in rows[0]) > 1000


def test_a_compiled_module_built_from_other_source_is_not_used(monkeypatch) -> None:
    stale = types.ModuleType("lolameme.data.tasks.lolameme._sampler_c")
    stale.SOURCE_SHA256 = "0" * 64  # built from a sampler.py that no longer exists
    monkeypatch.setitem(sys.modules, "lolameme.data.tasks.lolameme._sampler_c", stale)
    monkeypatch.delenv(PURE_ENV, raising=False)
    compiled_sampler.cache_clear()
    try:
        with pytest.warns(UserWarning, match="built from another version"):
            assert compiled_sampler() is None
        assert sampler_module() is sampler
    finally:
        compiled_sampler.cache_clear()


def test_without_a_compiled_module_the_pure_one_runs(monkeypatch) -> None:
    # None in sys.modules: the import fails
    monkeypatch.setitem(sys.modules, "lolameme.data.tasks.lolameme._sampler_c", None)
    monkeypatch.delenv(PURE_ENV, raising=False)
    compiled_sampler.cache_clear()
    try:
        assert sampler_module() is sampler
    finally:
        compiled_sampler.cache_clear()
