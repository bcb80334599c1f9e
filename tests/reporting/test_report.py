"""The report: every table row, paper numbers beside ours, figures, breakdown, calibration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lolameme.cli import main
from lolameme.experiments.spec_loader import available_experiments, load_spec
from lolameme.reporting.aggregate import display_name
from lolameme.reporting.report import write_report


def _em(model: str, seed: int, settings: dict, split: str) -> float:
    return 0.1 + 0.01 * seed + (0.1 if model == "hyena" else 0.0)


@pytest.mark.parametrize("name", available_experiments())
def test_report_shows_every_row_of_every_table(synthetic, tmp_path: Path, name: str) -> None:
    synthetic(tmp_path, name, _em)
    text = write_report(tmp_path).read_text()
    spec = load_spec(name)
    for table in spec.tables:
        assert table.title in text
        for model in table.rows or spec.models:
            assert f"| {display_name(model)} |" in text, (name, model)
        for values in table.paper.values():
            for value in values.values():
                shown = (
                    f"{value[0]:.4f} ({value[1]:.4f})"
                    if isinstance(value, tuple)
                    else (f"{value:.4f}")
                )
                assert shown in text
    for figure in spec.figures:
        assert (tmp_path / "figures" / f"{name}--tiny--{figure.id}.png").stat().st_size > 1000
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["experiments"][0]["cells_ok"] == report["experiments"][0]["cells_expected"]


def test_table_cells_are_mean_and_sample_std_over_seeds(synthetic, tmp_path: Path) -> None:
    synthetic(tmp_path, "thex_variations", _em)
    text = write_report(tmp_path).read_text()
    # hyena: 0.2, 0.21, 0.22 -> mean 0.21, sample std 0.01; paper 0.1432 (0.0037) beside it
    assert "| Hyena | 0.2100 (0.0100) | 0.1432 (0.0037) |" in text
    assert "| *majority label* | 0.0500 |  | 0.0500 |  |  |" in text
    table = json.loads((tmp_path / "report.json").read_text())["experiments"][0]["tables"][0]
    hyena = next(r for r in table["rows"] if r["model"] == "hyena")
    assert hyena["cells"][0]["ours"] == {
        "mean": pytest.approx(0.21),
        "std": pytest.approx(0.01),
        "n": 3,
    }
    assert hyena["cells"][0]["paper"] == [0.1432, 0.0037]


def test_partial_grid_keeps_rows_and_says_so(synthetic, tmp_path: Path) -> None:
    synthetic(tmp_path, "long_input", _em, models=["hyena", "gpt2"])
    text = write_report(tmp_path).read_text()
    assert "6 of 33 cells finished" in text
    assert "partial grid" in text
    assert "| THEX-15 | — | 0.0000 | — | 0.0000 |" in text


def test_curves_and_their_numbers(synthetic, tmp_path: Path) -> None:
    def em(model: str, seed: int, settings: dict, split: str) -> float:
        return 1.0 / settings["globalvar_count"] + 0.001 * seed

    synthetic(tmp_path, "memorization", em)
    text = write_report(tmp_path).read_text()
    assert "![figure1](figures/memorization--tiny--figure1.png)" in text
    assert "prints this figure without numbers" in text
    assert "| Hyena | 0.1010 (0.0010) | 0.0510 (0.0010) |" in text  # globals 10, 20, ...
    fig = json.loads((tmp_path / "report.json").read_text())["experiments"][0]["figures"][0]
    assert [p["value"] for p in fig["points"]] == [10, 20, 40, 80]
    assert fig["panels"][0]["lines"]["gpt2"][0]["mean"] == pytest.approx(0.101)
    assert fig["panels"][0]["baseline"][0]["mean"] == pytest.approx(0.05)
    assert fig["panels"][1]["baseline"] is None  # a loss panel has no label baseline


def test_breakdown_comes_from_eval_json(synthetic, tmp_path: Path) -> None:
    synthetic(tmp_path, "thex_variations", _em)
    text = write_report(tmp_path).read_text()
    assert "*test_with_global, by dependency_depth*" in text
    assert "by language" not in text  # one value only: nothing to compare
    # the generator's latent column is a language feature, shown after the depth; other
    # metadata is left out while a feature field is there
    assert text.index("by dependency_depth*") < text.index("by latent_mods*")
    assert "by answer_tokens" not in text
    report = json.loads((tmp_path / "report.json").read_text())
    by = report["experiments"][0]["breakdown"]["test_with_global"]["dependency_depth"]
    assert by["3"]["hyena"]["mean"] == pytest.approx(0.105)  # half of 0.21


def test_calibration_runs_and_invocations_are_listed(synthetic, tmp_path: Path) -> None:
    synthetic(tmp_path, "layer_scan", _em)
    synthetic(tmp_path, "layer_scan", _em, models=["gpt2"], tag="calib-a")
    (tmp_path / "invocations.jsonl").write_text(
        json.dumps(
            {
                "command": "lolameme experiment run layer_scan --scale tiny",
                "cells": 18,
                "skipped": 0,
                "ok": 18,
                "failed": 0,
                "wall_seconds": 600,
            }
        )
        + "\n"
    )
    text = write_report(tmp_path).read_text()
    assert "## Calibration runs" in text
    assert "| calib-a | layer_scan | tiny | GPT-2 | 3 | 3 | `data.GLOBALVAR_COUNT=3` |" in text
    assert "| majority label (test_with_global) | EM (test_with_global) |" in text
    assert (
        "| `lolameme experiment run layer_scan --scale tiny` | 18 | 0 | 18 | 0 | 10.0 min |" in text
    )
    assert "18 of 18 cells finished" in text  # tagged cells do not count as the grid's


def test_a_tagged_table_names_its_own_cells_settings(synthetic, tmp_path: Path) -> None:
    """The `--set` flags under a table are its cells', not those of the run that wrote the spec."""
    synthetic(tmp_path, "layer_scan", _em)
    synthetic(tmp_path, "layer_scan", _em, models=["gpt2"], tag="calib-a")
    untagged = write_report(tmp_path, tag="").read_text()
    assert "overridden on the command line" not in untagged
    tagged = write_report(tmp_path, tag="calib-a").read_text()
    assert "- settings overridden on the command line: `data.GLOBALVAR_COUNT=3`" in tagged


def test_failed_cells_are_listed(synthetic, tmp_path: Path) -> None:
    import pandas as pd

    synthetic(tmp_path, "multi_language", _em)
    frame = pd.read_parquet(tmp_path / "results.parquet")
    frame.loc[frame["model"] == "gpt2", "status"] = "failed"
    frame.loc[frame["model"] == "gpt2", "error"] = "TrainingError: loss became nan"
    frame.to_parquet(tmp_path / "results.parquet")
    text = write_report(tmp_path).read_text()
    assert "## Failed cells" in text and "loss became nan" in text
    assert "| GPT-2 | — |" in text


def test_report_cli_writes_files_and_errors_in_one_line(
    synthetic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", str(tmp_path / "nowhere")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no results.parquet") and "\n" not in err
    synthetic(tmp_path, "multi_language", _em)
    main(["report", str(tmp_path)])
    assert (tmp_path / "report.md").is_file() and (tmp_path / "report.json").is_file()


def test_mqar_accuracy_vs_width_keeps_the_best_lr_and_judges_each_width(
    synthetic, tmp_path: Path
) -> None:
    """One line per model across widths, one panel per sequence length, best lr kept."""
    attention, base_conv = "attention@{width}*2", "base_conv@{width}*2"
    sparse = "base_conv@{width},sparse_attention@{width}"

    def acc(model: str, seed: int, settings: dict, split: str) -> float:
        good = 3e-3 if model == attention else 1e-3  # each model has its own best lr
        width = settings["width"]
        value = {attention: 0.98, base_conv: 0.10 + width / 1000, sparse: 0.95}.get(model, 0.2)
        return value if settings["lr"] == good else value / 2

    synthetic(tmp_path, "mqar", acc)
    text = write_report(tmp_path).read_text()
    assert "![accuracy_vs_width](figures/mqar--tiny--accuracy_vs_width.png)" in text
    assert (tmp_path / "figures" / "mqar--tiny--accuracy_vs_width.png").stat().st_size > 0
    assert "| Attention ×2 | 0.9800 | 0.9800 |" in text  # widths 64, 128: best lr
    assert "| BaseConv ×2 | 0.1640 | 0.2280 |" in text
    assert "Attention ×2 = `attention@{width}*2`" in text  # the spec behind the name
    assert "exact match" not in text.split("### Exact match")[0]  # MQAR: query accuracy
    fig = json.loads((tmp_path / "report.json").read_text())["experiments"][0]["figures"][0]
    assert [p["value"] for p in fig["points"]] == [64, 128]
    # the tiny grid has seq_len 64 only: the 128 and 256 panels are kept, marked empty
    assert [(p["where"], p["in_grid"]) for p in fig["panels"]] == [
        ({"seq_len": 64}, True),
        ({"seq_len": 128}, False),
        ({"seq_len": 256}, False),
    ]
    assert "*seq_len 128, 8 pairs*: not in this scale's grid." in text
    line = next(x for x in text.splitlines() if "sparse-attention hybrid close" in x)
    # (0.95 - 0.164) / (0.98 - 0.164) at width 64
    assert "[width=64, seq_len=64] " in line and "closes 96.3% of the gap" in line
    assert "[width=128, seq_len=64] " in line and "**yes**" in line


def test_cells_count_every_seed_that_ran(synthetic, tmp_path: Path) -> None:
    """A spec saved by a ``--seeds 0`` run, then ``--seeds 1,2`` runs: 33 of 33, not 33 of 11."""
    synthetic(tmp_path, "thex_variations", _em)
    path = tmp_path / "specs" / "thex_variations--tiny.json"
    spec = json.loads(path.read_text())
    path.write_text(json.dumps({**spec, "seeds": [0]}))
    text = write_report(tmp_path).read_text()
    assert "33 of 33 cells finished" in text and "partial grid" not in text


def _tagged(tmp_path: Path, synthetic, tag: str, em, when: str, **kwargs) -> None:
    """Cells of ``tag`` that finished at ``when`` (ISO time)."""
    import pandas as pd

    synthetic(tmp_path, "thex_variations", em, tag=tag, **kwargs)
    frame = pd.read_parquet(tmp_path / "results.parquet")
    frame.loc[frame["tag"] == tag, "finished_at"] = when
    frame.to_parquet(tmp_path / "results.parquet", index=False)


def test_latest_complete_tag_fills_the_tables(synthetic, tmp_path: Path) -> None:
    first = lambda m, s, c, sp: 0.10 + (0.1 if m == "hyena" else 0)  # noqa: E731
    second = lambda m, s, c, sp: 0.30 + (0.1 if m == "hyena" else 0)  # noqa: E731
    _tagged(tmp_path, synthetic, "", first, "2026-01-01T00:00:00+00:00")
    _tagged(tmp_path, synthetic, "steps2000", second, "2026-01-02T00:00:00+00:00")
    # the latest tag, but partial: it must not replace a complete grid
    _tagged(tmp_path, synthetic, "probe", first, "2026-01-03T00:00:00+00:00", models=["gpt2"])
    text = write_report(tmp_path).read_text()
    assert "(tag `steps2000`); 33 of 33 cells finished" in text
    assert "| Hyena | 0.4000 (0.0000) | 0.1432 (0.0037) |" in text  # ours beside the paper's
    assert "| (untagged) | thex_variations | tiny | Hyena | 3 |" in text  # under calibration
    assert "| probe | thex_variations | tiny | GPT-2 | 3 |" in text
    text = write_report(tmp_path, tag="").read_text()
    assert "| Hyena | 0.2000 (0.0000) | 0.1432 (0.0037) |" in text
    assert "| steps2000 | thex_variations | tiny | Hyena | 3 |" in text


def test_unknown_tag_is_one_clear_error(synthetic, tmp_path: Path, capsys) -> None:
    synthetic(tmp_path, "layer_scan", _em)
    with pytest.raises(SystemExit):
        main(["report", str(tmp_path), "--tag", "nope"])
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no finished cells of layer_scan (tiny) have tag 'nope'")


def test_breakdown_survives_a_copy_without_runs(synthetic, tmp_path: Path) -> None:
    """A committed results directory keeps results.parquet and report.json, not runs/."""
    import shutil

    synthetic(tmp_path, "thex_variations", _em)
    before = write_report(tmp_path).read_text()
    table = before.split("<details><summary>tables</summary>")[1]
    shutil.rmtree(tmp_path / "runs")
    after = write_report(tmp_path).read_text()
    assert "Kept from the previous `report.json`" in after
    assert after.split("<details><summary>tables</summary>")[1] == table
