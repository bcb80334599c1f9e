"""Data, tokenizer, model, loss and decoding line up: tiny models learn small tasks.

The copy task ``x = N;print(x)`` -> ``N`` is what a 1-statement, local-only LoLa
split reduces to. If any piece were misaligned (targets shifted, loss on padding,
decoding from the wrong position, a tokenizer that loses characters), exact match
would stay near zero.
"""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lolameme.evaluation import evaluate_run
from lolameme.training import TrainConfig, train


def _train_attention(data: Path, out: Path, **settings: Any) -> tuple[dict[str, Any], float]:
    """Train tiny ``attention*2`` on ``data`` and evaluate it: (the test split's
    figures, seconds taken)."""
    started = time.perf_counter()
    config = TrainConfig(
        data=data,
        model="attention*2",
        scale="tiny",
        out=out,
        batch_size=32,
        lr=3e-3,
        eval_every=0,
        eval_samples=0,
        threads=1,  # small matrices: a second thread gains little and suffers most from load
        **settings,
    )
    report = evaluate_run(train(config, progress=False), progress=False)
    return report["splits"]["test"], time.perf_counter() - started


def test_tiny_model_learns_the_copy_task(copy_dataset: Callable, tmp_path: Path) -> None:
    data = copy_dataset(3000, 300)
    test, elapsed = _train_attention(data, tmp_path / "run", tokenizer="char", steps=600)
    assert test["em"] >= 0.95, f"EM {test['em']:.3f} after {elapsed:.0f} s"


def test_tiny_attention_solves_a_small_mqar(tmp_path: Path) -> None:
    """Zoology's associative recall through the whole stack (generate, train, eval).

    4 key-value pairs among 16 tokens: a 2-layer attention model must build an
    induction circuit (previous-token head, then a lookup). Untied and with PyTorch's
    init it does so in 200-300 steps; with GPT-2's tied N(0, 0.02) init it stays on
    the plateau of guessing among the context's values for thousands (docs/zoo.md).
    """
    from lolameme.data.generate import generate

    data = generate(
        "mqar",
        "smoke",
        {"vocab_size": 16, "seq_len": 16, "num_kv_pairs": 4, "num_train": 16_000, "num_test": 500},
        tmp_path / "mqar",
        workers=1,
    )
    test, elapsed = _train_attention(
        data, tmp_path / "run", steps=500, tie_embeddings=False, init="pytorch"
    )
    accuracy = test["token_accuracy"]
    assert accuracy >= 0.9, f"query accuracy {accuracy:.3f} after {elapsed:.0f} s"
