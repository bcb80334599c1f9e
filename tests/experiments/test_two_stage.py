"""Two-stage cells: an axis point's ``init_from`` starts its cells from another point's
finished cell (same model, seed and other points), as the ``curriculum`` spec does."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from lolameme.errors import ConfigError
from lolameme.experiments.cell import CellTask
from lolameme.experiments.grid import Selection, expand, parse_only
from lolameme.experiments.runner import stages
from lolameme.experiments.spec_loader import _raw, _resolve_path, load_spec, spec_from_mapping
from lolameme.reporting.results import read_results

STAGE1, SCRATCH, STAGE2, STAGE2_X4 = "depth0", "scratch", "curriculum", "curriculum_x4"
SECOND = {STAGE2, STAGE2_X4}  # the points that start from STAGE1


def _raw_curriculum() -> dict:
    return copy.deepcopy(_raw(_resolve_path("curriculum")))


def _with_tiny_points(points: list[dict]) -> dict:
    raw = _raw_curriculum()
    raw["axes"][0]["points"]["tiny"] = points
    return raw


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([{"value": "a"}, {"value": "b", "init_from": "c"}], "'b' starts from 'c', which is not"),
        ([{"value": "a", "init_from": "b"}, {"value": "b", "init_from": "a"}], "loops"),
        ([{"value": "a", "init_from": "a"}], "loops"),
    ],
)
def test_init_from_names_another_point_of_its_axis_without_loops(points, message) -> None:
    with pytest.raises(ConfigError, match=message):
        spec_from_mapping(_with_tiny_points(points))


def test_a_scale_that_drops_the_first_stage_is_refused() -> None:
    raw = _raw_curriculum()
    raw["axes"][0]["select"] = {"tiny": [SCRATCH, STAGE2]}
    with pytest.raises(ConfigError, match="'curriculum' starts from 'depth0'"):
        spec_from_mapping(raw)


def test_second_stage_cells_name_their_first_stage_of_the_same_model_and_seed() -> None:
    cells = expand(load_spec("curriculum").at("tiny"))
    by_key = {(c.model, c.settings["stage"], c.seed): c for c in cells}
    assert len(cells) == 36
    for (model, stage, seed), cell in by_key.items():
        if stage in SECOND:
            first = by_key[model, STAGE1, seed]
            assert cell.init_from == first.cell_id
            assert cell.init_fingerprint == first.fingerprint
            assert cell.data != first.data  # depth 1 after depth 0
        else:
            assert cell.init_from == cell.init_fingerprint == ""


def test_selecting_the_second_stage_also_runs_the_first() -> None:
    scaled = load_spec("curriculum").at("tiny")
    cells = expand(
        scaled, Selection(models=["gpt2"], seeds=[1], only=parse_only([f"stage={STAGE2}"]))
    )
    assert [c.settings["stage"] for c in cells] == [STAGE1, STAGE2]
    assert cells[1].init_from == cells[0].cell_id


def test_the_first_stages_settings_are_part_of_the_second_stages_fingerprint() -> None:
    def cells_of(raw: dict) -> dict:
        return {c.cell_id: c for c in expand(spec_from_mapping(raw).at("tiny"))}

    before = cells_of(_raw_curriculum())
    raw = _raw_curriculum()
    raw["axes"][0]["points"]["tiny"][0]["train"] = {"steps": 999}  # the first stage only
    after = cells_of(raw)
    for cell_id, cell in before.items():
        changed = after[cell_id].fingerprint != cell.fingerprint
        assert changed == (cell.settings["stage"] in {STAGE1} | SECOND), cell_id


def test_one_stage_cells_keep_their_fingerprints() -> None:
    """The two new Cell fields enter the fingerprint only when set: results recorded
    before two-stage cells existed are not marked stale."""
    cell = expand(load_spec("thex_variations").at("tiny"), Selection(models=["gpt2"]))[0]
    import dataclasses

    again = dataclasses.replace(cell, init_from="x", init_fingerprint="")
    assert again.fingerprint == cell.fingerprint
    staged = dataclasses.replace(cell, init_from="x", init_fingerprint="abc")
    assert staged.fingerprint != cell.fingerprint


def test_second_stages_wait_for_their_first_stages(tmp_path: Path) -> None:
    cells = expand(load_spec("curriculum").at("tiny"))
    tasks = [CellTask(cell, tmp_path, tmp_path) for cell in cells]
    first, second = stages(tasks)
    assert {t.cell.settings["stage"] for t in first} == {STAGE1, SCRATCH}
    assert {t.cell.settings["stage"] for t in second} == SECOND
    assert [t.cell.cell_id for t in first + second] == [  # grid order within a wave
        t.cell.cell_id for t in tasks if t in first
    ] + [t.cell.cell_id for t in tasks if t in second]
    # First stages done earlier (not among the tasks): one wave.
    assert stages([t for t in tasks if t.cell.settings["stage"] in SECOND]) == [second]


def _stages_of(calls: list[str]) -> list[str]:
    return [c.split("--stage=")[1].split("--")[0] for c in calls]


def test_a_failed_first_stage_fails_its_second_and_a_rerun_retries_both(
    fake, run, tmp_path: Path
) -> None:
    failing = fake(fail=lambda cell: cell.settings["stage"] == STAGE1)
    summary = run(failing, "curriculum", tmp_path, models=["gpt2"])
    assert f"stage={STAGE2}" not in " ".join(
        failing.calls
    )  # never trained on a missing first stage
    frame = read_results(tmp_path).set_index("stage")
    assert frame.loc[STAGE1, "status"] == frame.loc[STAGE2, "status"] == "failed"
    assert frame.loc[SCRATCH, "status"] == "ok"
    assert "the cell it starts from" in frame.loc[STAGE2, "error"]
    assert frame.loc[STAGE2, "init_from"] == frame.loc[STAGE1, "cell_id"]
    assert len(summary.failed) == 3  # the first stage and both second stages
    retry = fake()
    run(retry, "curriculum", tmp_path, models=["gpt2"])
    assert _stages_of(retry.calls) == [STAGE1, STAGE2, STAGE2_X4]
    assert set(read_results(tmp_path)["status"]) == {"ok"}


def test_a_real_second_stage_starts_from_the_first_stages_weights(tmp_path: Path) -> None:
    from lolameme.experiments.runner import run_experiment

    summary = run_experiment(
        "curriculum", "smoke", tmp_path, selection=Selection(models=["gpt2"]), progress=False
    )
    assert summary.ok == summary.cells == 4, summary.failed
    runs = tmp_path / "runs"
    first = runs / f"curriculum--smoke--gpt2--stage={STAGE1}--seed0"
    second = json.loads(
        (runs / f"curriculum--smoke--gpt2--stage={STAGE2}--seed0/run.json").read_text()
    )
    scratch = json.loads(
        (runs / f"curriculum--smoke--gpt2--stage={SCRATCH}--seed0/run.json").read_text()
    )
    stage1 = json.loads((first / "run.json").read_text())
    assert Path(second["init_from"]["run"]) == first.resolve()
    assert second["init_from"]["step"] == stage1["finished"]["step"]
    assert second["vocab_size"] == stage1["vocab_size"]  # the first stage's tokenizer
    assert scratch.get("init_from") is None


def test_show_says_where_a_second_stage_starts(capsys) -> None:
    from lolameme.cli import main

    main(["experiment", "show", "curriculum", "--scale", "tiny"])
    axis = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("axis stage"))
    assert axis.count("(starts from depth0)") == len(SECOND)


@pytest.mark.parametrize("weights_kept", [True, False])
def test_a_first_stage_whose_weights_are_gone_runs_again(
    fake, run, tmp_path: Path, weights_kept: bool
) -> None:
    """A finished first stage is skipped while its checkpoint exists; a second stage
    that still has to run brings back one whose weights were deleted."""
    run(fake(fail=lambda cell: cell.settings["stage"] == STAGE2), "curriculum", tmp_path)
    if weights_kept:  # the fake writes no checkpoint: give the first stage one
        step = tmp_path / "runs" / f"curriculum--smoke--gpt2--stage={STAGE1}--seed0"
        step = step / "checkpoints" / "step-00000003"
        step.mkdir(parents=True)
        for name in ("model.safetensors", "state.pt"):
            (step / name).write_bytes(b"x")
    again = fake()
    run(again, "curriculum", tmp_path, models=["gpt2"])
    assert _stages_of(again.calls) == ([STAGE2] if weights_kept else [STAGE1, STAGE2])
