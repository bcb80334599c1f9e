"""``lolameme eval RUN``: predictions, eval.json with breakdowns, and clear errors."""

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from lolameme.cli import main
from lolameme.evaluation import evaluate_run
from lolameme.evaluation.metrics import exact_match
from lolameme.runs.tokenizer import train_char
from lolameme.training import TrainConfig, train


def _run(data: Path, out: Path, **overrides: object) -> Path:
    settings = dict(
        data=data, model="attention*2", scale="smoke", out=out, tokenizer="char", steps=8,
        batch_size=16, eval_every=0, eval_samples=4, threads=1,
    )  # fmt: skip
    settings.update(overrides)
    return train(TrainConfig(**settings), progress=False)


def test_eval_writes_predictions_and_breakdowns(
    toy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = toy.write(
        tmp_path / "d",
        {
            "train": toy.copy_items(64, 1),
            "test_a": toy.copy_items(20, 2),
            "test_b": toy.copy_items(12, 3),
        },
    )
    run = _run(data, tmp_path / "run")
    main(["eval", str(run), "--limit", "10", "-q"])
    table = capsys.readouterr().out
    assert "test_a" in table and "test_b" in table and "EM" in table
    report = json.loads((run / "eval.json").read_text())
    # under the table: the majority-label floor on the same items, the first breakdown,
    # and where the others are
    train_labels = pd.read_parquet(next((data / "data").glob("train-*.parquet")))["label"]
    top = train_labels.astype(str).value_counts().index[0]
    for split in ("test_a", "test_b"):
        frame = pd.read_parquet(run / f"predictions-{split}.parquet")
        floor = float((frame["label"].astype(str) == top).mean())
        assert report["splits"][split]["baseline"] == pytest.approx(floor)
        assert f"{split} {floor:.3f}" in table
    assert "majority label (always the most common training label): " in table
    assert "test_a EM by negative: " in table  # the one field with two values here
    assert f"{run / 'eval.json'} ('by' of each split)" in table
    assert report["step"] == 8 and set(report["splits"]) == {"test_a", "test_b"}
    for split in ("test_a", "test_b"):
        summary = report["splits"][split]
        assert summary["n"] == 10 and summary["limit"] == 10
        assert summary["loss"] > 0 and summary["answer_loss"] > 0
        assert set(summary["by"]) == {"n_statements", "negative", "language"}
        frame = pd.read_parquet(run / f"predictions-{split}.parquet")
        assert list(frame.columns[:4]) == ["program", "label", "prediction", "correct"]
        assert {"n_statements", "negative", "language", "globals_used"} <= set(frame.columns)
        assert len(frame) == 10
        recomputed = [exact_match(p, t) for p, t in zip(frame.prediction, frame.label, strict=True)]
        assert frame.correct.tolist() == recomputed
        assert summary["em"] == pytest.approx(frame.correct.mean())
        by_sign = summary["by"]["negative"]
        assert sum(v["n"] for v in by_sign.values()) == 10
    # evaluating one split again merges into the same eval.json
    again = evaluate_run(run, splits=["test_b"], limit=5, progress=False)
    assert set(again["splits"]) == {"test_a", "test_b"} and again["splits"]["test_b"]["n"] == 5


def test_eval_tokens_format(tokens_dataset: Callable, tmp_path: Path) -> None:
    run = _run(tokens_dataset(128, 16), tmp_path / "run", steps=40, lr=1e-2)
    report = evaluate_run(run, progress=False)
    summary = report["splits"]["test"]
    frame = pd.read_parquet(run / "predictions-test.parquet")
    assert list(frame.columns[:3]) == ["n_labelled", "n_correct", "correct"]
    assert (frame.n_labelled == 6).all()  # 12 positions, every odd one labelled
    assert summary["token_accuracy"] == pytest.approx(
        frame.n_correct.sum() / frame.n_labelled.sum()
    )
    assert summary["em"] == pytest.approx((frame.n_correct == 6).mean())
    assert summary["token_accuracy"] > 0.9


def test_eval_errors_are_one_line(
    copy_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy_dataset(32, 8)
    run = _run(data, tmp_path / "run")
    for args, expected in [
        (["eval", str(tmp_path / "nope")], "run directory not found"),
        (["eval", str(run), "--split", "dev"], "no split 'dev'"),
    ]:
        with pytest.raises(SystemExit) as info:
            main(args)
        err = capsys.readouterr().err.strip()
        assert info.value.code != 0 and err.startswith("error: ") and expected in err
        assert "\n" not in err
    train_char(["xyz"]).save(run / "tokenizer.json")  # another run's tokenizer
    with pytest.raises(SystemExit):
        main(["eval", str(run)])
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: tokenizer/vocab mismatch") and "\n" not in err
