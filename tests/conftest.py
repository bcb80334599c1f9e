"""Shared fixtures: small data sets built directly with the store (no generator needed)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from lolameme._io import atomic_directory
from lolameme.data.store import DatasetWriter


def write_dataset(
    path: Path,
    splits: dict[str, pd.DataFrame],
    *,
    format: str = "text",
    task: str = "lolameme",
    extra: dict | None = None,
) -> Path:
    """Write ``splits`` as a data-set directory, one shard per split."""
    with atomic_directory(path) as tmp:
        writer = DatasetWriter(tmp)
        for split, frame in splits.items():
            writer.write_shard(split, 0, frame)
        writer.finish(
            task=task,
            format=format,
            config={"toy": True},
            seed=0,
            split_order=list(splits),
            extra=extra,
        )
    return path


def copy_items(n: int, seed: int, names: str = "abc") -> pd.DataFrame:
    """The copy task ``x = N;print(x)`` -> ``N``, with a little metadata to break EM down."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        name = rng.choice(names)
        value = rng.randrange(-99, 1000)
        rows.append(
            {
                "program": f"{name} = {value};print({name})",
                "label": str(value),
                "n_statements": 1,
                "negative": value < 0,
                "language": "lola",
                "globals_used": [name],  # a list column: must be skipped by the breakdown
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def toy() -> SimpleNamespace:
    """The builders above, for tests that assemble their own splits."""
    return SimpleNamespace(write=write_dataset, copy_items=copy_items, mqar_items=mqar_like_items)


@pytest.fixture
def copy_dataset(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``copy_dataset(n_train, n_test)`` writes a copy-task data set."""

    def make(n_train: int = 512, n_test: int = 64, name: str = "copy") -> Path:
        return write_dataset(
            tmp_path / name,
            {"train": copy_items(n_train, 1), "test": copy_items(n_test, 2)},
        )

    return make


def mqar_like_items(n: int, seed: int, length: int = 12, vocab: int = 16) -> pd.DataFrame:
    """Tokens-format rows: targets only at odd positions (echo the previous input)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        inputs = [rng.randrange(vocab) for _ in range(length)]
        targets = [inputs[i] if i % 2 else -100 for i in range(length)]
        rows.append({"inputs": inputs, "targets": targets, "num_kv_pairs": 2})
    return pd.DataFrame(rows)


@pytest.fixture
def tokens_dataset(tmp_path: Path) -> Callable[..., Path]:
    def make(n_train: int = 256, n_test: int = 32, vocab: int = 16) -> Path:
        return write_dataset(
            tmp_path / "tokens",
            {
                "train": mqar_like_items(n_train, 1, vocab=vocab),
                "test": mqar_like_items(n_test, 2, vocab=vocab),
            },
            format="tokens",
            task="mqar",
            extra={"vocab_size": vocab},
        )

    return make


@pytest.fixture
def lolameme_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``lolameme_cli(*argv)``: run ``lolameme ARGV`` in this process and return
    (exit code, stdout, stderr); ``SystemExit`` (an ``error:`` line) becomes the code."""
    from lolameme.cli import main

    def run(*argv: object) -> tuple[int, str, str]:
        try:
            main([str(a) for a in argv])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
