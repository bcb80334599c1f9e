"""The zoology_mqar experiment: its grid, the gap verdict's references, and a smoke run
whose results rows carry the recall-gap split and whose report states the gap."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lolameme.errors import ConfigError
from lolameme.experiments.grid import Selection, expand
from lolameme.experiments.spec_loader import load_spec, spec_from_mapping

HYBRID = "base_conv@64*2,sparse_attention@64,base_conv@64"


def test_zoology_mqar_trains_the_zoo_on_mqar() -> None:
    spec = load_spec("zoology_mqar")
    assert spec.task == "mqar" and spec.splits == ["test"]
    assert spec.models == [
        "attention@64*2",
        "base_conv@64*4",
        "hyena@64*4",
        "h3@64*4",
        "rwkv@64*4",
        HYBRID,
        "mamba@64*4",
        "delta_net@64*4",
        "base_conv@64,based@64,base_conv@64,based@64",
    ]
    gap = next(v for v in spec.verdicts if v.kind == "gap_closed")
    assert (gap.model, gap.low, gap.high) == (HYBRID, "base_conv@64*4", "attention@64*2")
    cells = expand(spec.at("tiny"))
    assert len(cells) == 27 and cells[0].data.preset == "mqar-small"  # 9 models x 3 seeds
    # the CPU recipe under which 2-layer attention learns MQAR (docs/zoo.md)
    assert cells[0].train["tie_embeddings"] is False and cells[0].train["init"] == "pytorch"
    # token data: the LoLa/MeMe text settings of the shared tiny defaults are removed
    assert not {"tokenizer", "vocab_size", "loss"} & set(cells[0].train)


def test_a_gap_verdict_naming_an_unknown_model_is_an_error() -> None:
    spec = {
        "name": "mini",
        "title": "t",
        "paper": {"refs": ["Zoology"]},
        "task": "mqar",
        "data": {"preset": "smoke"},
        "models": ["attention*2", "base_conv*2"],
        "splits": ["test"],
        "scales": {"smoke": {}},
        "verdicts": [
            {
                "kind": "gap_closed",
                "id": "g",
                "question": "?",
                "model": "rwkv*2",
                "low": "base_conv*2",
                "high": "attention*2",
            }
        ],
    }
    with pytest.raises(ConfigError, match="rwkv"):
        spec_from_mapping(spec)


def test_smoke_run_records_the_recall_split_and_reports_the_gap(tmp_path: Path) -> None:
    from lolameme.experiments.runner import run_experiment
    from lolameme.reporting.report import write_report
    from lolameme.reporting.results import read_results

    models = ["attention@64*2", "base_conv@64*4", HYBRID]
    summary = run_experiment(
        "zoology_mqar", "smoke", tmp_path, selection=Selection(models=models), progress=False
    )
    assert summary.ok == summary.cells == 3, summary.failed
    rows = read_results(tmp_path)
    # every MQAR query completes a bigram of the context: all are AR hits, none "other"
    assert rows["ar_hits_acc_test"].tolist() == pytest.approx(rows["token_accuracy_test"].tolist())
    assert rows["ar_hits_loss_test"].tolist() == pytest.approx(rows["loss_test"].tolist())
    assert "other_loss_test" not in rows.columns
    text = write_report(tmp_path).read_text()
    line = next(x for x in text.splitlines() if "close at least 90%" in x)
    assert re.search(r"closes -?[\d.]+% of the gap|too small to be meaningful", line), line
    assert "### Recall gap: AR hits vs other tokens" in text
