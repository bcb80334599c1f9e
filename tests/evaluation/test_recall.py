"""Zoology's AR-hit split: which predictions complete an earlier bigram, and group sums."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lolameme.evaluation.recall import RecallTally, ar_hits, recall_split


def lm(ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Language-modelling inputs and targets from whole sequences."""
    t = torch.tensor(ids)
    return t[:, :-1], t[:, 1:]


def brute_force(inputs: list[int], targets: list[int]) -> list[bool]:
    return [
        targets[t] >= 0
        and any(inputs[s] == inputs[t] and inputs[s + 1] == targets[t] for s in range(t))
        for t in range(len(inputs))
    ]


def test_ar_hits_by_hand() -> None:
    # sequence:  a b c a b d a b   (a=1 b=2 c=3 d=4)
    inputs, targets = lm([[1, 2, 3, 1, 2, 4, 1, 2]])
    # predictions t -> target: 0 a->b, 1 b->c, 2 c->a, 3 a->b (seen at 0: hit),
    # 4 b->d (b c seen, not b d), 5 d->a, 6 a->b (hit)
    assert ar_hits(inputs, targets)[0].tolist() == [False, False, False, True, False, False, True]


def test_the_earlier_bigram_must_be_complete_before_the_prediction() -> None:
    # a a a: position 1 predicts a after "a a"; the bigram (a, a) at (0, 1) ends at 1 <= 1
    inputs, targets = lm([[7, 7, 7]])
    assert ar_hits(inputs, targets)[0].tolist() == [False, True]
    # position t never counts its own bigram: (a, b) first completed at t is no hit
    inputs, targets = lm([[5, 6]])
    assert ar_hits(inputs, targets)[0].tolist() == [False]


def test_rows_are_independent_and_unlabelled_targets_never_hit() -> None:
    inputs = torch.tensor([[1, 2, 1, 9], [3, 3, 1, 2]])
    targets = torch.tensor([[2, 1, 2, -100], [3, 1, -100, 1]])
    hits = ar_hits(inputs, targets)
    # row 0: (1,2) seen at 0 -> t=2 hit; row 1: (1,2) only in row 0 -> t=2 unlabelled anyway
    assert hits.tolist() == [[False, False, True, False], [False, False, False, False]]


def test_mqar_style_targets_use_the_input_bigrams() -> None:
    # keys/values k1 v1 k2 v2 then queries k2 k1 with targets v2 v1 (MQAR)
    inputs = torch.tensor([[10, 20, 11, 21, 11, 10]])
    targets = torch.tensor([[-100, -100, -100, -100, 21, 20]])
    assert ar_hits(inputs, targets)[0].tolist() == [False] * 4 + [True, True]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 4), min_size=6, max_size=6), min_size=1, max_size=4),
    st.lists(st.integers(-1, 4), min_size=6, max_size=6),
)
def test_ar_hits_match_the_definition(rows: list[list[int]], target_row: list[int]) -> None:
    inputs = torch.tensor(rows)
    targets = torch.tensor([[-100 if x < 0 else x for x in target_row]] * len(rows))
    got = ar_hits(inputs, targets).tolist()
    assert got == [brute_force(r, targets[0].tolist()) for r in rows]


def test_tally_splits_loss_and_accuracy() -> None:
    inputs, targets = lm([[1, 2, 3, 1, 2, 4, 1, 2]])  # hits at 3 and 6
    losses = torch.tensor([[1.0, 2.0, 3.0, 0.5, 4.0, 5.0, 0.25]])
    correct = torch.tensor([[0, 0, 1, 1, 0, 1, 0]], dtype=torch.bool)
    result = recall_split(inputs, targets, losses, correct)
    assert result["ar_hits"] == {"loss": pytest.approx(0.375), "acc": 0.5, "count": 2}
    assert result["other"] == {"loss": pytest.approx(3.0), "acc": 0.4, "count": 5}
    masked = recall_split(inputs, targets, losses, correct, mask=torch.arange(7)[None] >= 4)
    assert masked["ar_hits"]["count"] == 1 and masked["other"]["count"] == 2


def test_tally_accumulates_batches_and_reports_empty_groups() -> None:
    tally = RecallTally()
    assert tally.summary()["ar_hits"] == {"loss": None, "acc": None, "count": 0}
    inputs, targets = lm([[1, 2, 1, 2]])  # one hit (t=2)
    for loss in (1.0, 3.0):
        tally.add(inputs, targets, torch.full((1, 3), loss), torch.ones(1, 3, dtype=torch.bool))
    summary = tally.summary()
    assert summary["ar_hits"] == {"loss": 2.0, "acc": 1.0, "count": 2}
    assert summary["other"]["count"] == 4


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match=r"\(B, L\)"):
        ar_hits(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long))


# --- in eval.json ----------------------------------------------------------------------
def _partition_holds(summary: dict, overall_loss: float, overall_acc: float | None) -> None:
    """AR hits and other tokens partition the labelled predictions exactly."""
    hits, other = summary["ar_hits"], summary["other"]
    n = hits["count"] + other["count"]
    assert hits["count"] > 0 and other["count"] > 0
    loss = (hits["loss"] * hits["count"] + other["loss"] * other["count"]) / n
    assert loss == pytest.approx(overall_loss, rel=1e-5)
    if overall_acc is not None:
        acc = (hits["acc"] * hits["count"] + other["acc"] * other["count"]) / n
        assert acc == pytest.approx(overall_acc, rel=1e-9)


def test_eval_json_splits_loss_into_ar_hits_and_other(
    copy_dataset, tokens_dataset, tmp_path
) -> None:
    from lolameme.evaluation import evaluate_run
    from lolameme.training import TrainConfig, train

    common = dict(scale="smoke", tokenizer="char", batch_size=16, eval_every=0, threads=1)
    # text: the copy task's answer re-reads the digits of the program (AR hits);
    # trained as a BaseConv + sparse-attention hybrid, so the token ids go through training
    text_run = train(
        TrainConfig(
            data=copy_dataset(64, 16), model="base_conv,sparse_attention", out=tmp_path / "t",
            steps=4, eval_samples=4, **common,
        ),
        progress=False,
    )  # fmt: skip
    summary = evaluate_run(text_run, progress=False)["splits"]["test"]
    _partition_holds(summary, summary["loss"], None)
    tokens_run = train(
        TrainConfig(
            data=tokens_dataset(64, 16), model="attention", out=tmp_path / "k", steps=4,
            eval_samples=4, **common,
        ),
        progress=False,
    )  # fmt: skip
    summary = evaluate_run(tokens_run, progress=False)["splits"]["test"]
    _partition_holds(summary, summary["loss"], summary["token_accuracy"])
