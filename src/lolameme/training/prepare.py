"""Everything a run needs before the first step: data, tokenizer, encodings, lengths.

Only the main process trains the tokenizer (or reads it back on resume); the others
receive its JSON over the process group, so every process encodes with the very same
vocabulary without touching the file system.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lolameme.data.store import DatasetInfo, load_split
from lolameme.errors import ConfigError, DataError
from lolameme.runs.batching import Codec, EncodedSplit, TextCodec, TokenCodec
from lolameme.runs.directory import TOKENIZER
from lolameme.runs.tokenizer import TextTokenizer, train_tokenizer
from lolameme.training.config import TrainConfig
from lolameme.training.distributed import Distributed

TRAIN = "train"
# Greedy decoding stops at <eos> or after this many times the longest train answer
# (label + <eos>): a test label may be longer than any train label (test_without_global
# products, say), and must stay reachable. Extra steps only cost rows that never stop.
ANSWER_MARGIN = 2


@dataclass
class Prepared:
    codec: Codec
    train: EncodedSplit
    eval_frames: dict[str, Any]  # split -> fixed sample for periodic evaluation
    max_seq_len: int
    max_answer_tokens: int | None


def _tokens_vocab(info: DatasetInfo, requested: int | None) -> int:
    declared = info.manifest.get("vocab_size") or info.config().get("vocab_size")
    if declared is None:
        if requested is None:
            raise DataError(f"{info.path}: tokens data set declares no vocab_size; pass one")
        return requested
    declared = int(declared)
    if requested is not None and requested < declared:
        raise ConfigError(
            f"tokenizer/vocab mismatch: vocab_size {requested} is smaller than the data "
            f"set's {declared}"
        )
    return requested or declared


def _text_tokenizer(
    config: TrainConfig, train: Any, resume_dir: Path | None, dist: Distributed
) -> TextTokenizer:
    from tokenizers import Tokenizer

    payload: list[str | None] = [None]
    if dist.is_main:
        if resume_dir is not None and (resume_dir / TOKENIZER).exists():
            tokenizer = TextTokenizer.load(resume_dir / TOKENIZER)
        else:
            texts = [*map(str, train["program"]), *map(str, train["label"])]
            tokenizer = train_tokenizer(config.tokenizer, texts, config.vocab_size)
        payload[0] = tokenizer.hf.to_str()
    if dist.enabled:
        import torch.distributed

        torch.distributed.broadcast_object_list(payload, src=0)
    return TextTokenizer(Tokenizer.from_str(payload[0]))


def _round_up(n: int, multiple: int = 8) -> int:
    return -(-n // multiple) * multiple


def prepare(
    config: TrainConfig,
    info: DatasetInfo,
    tokenizer_dir: Path | None,
    dist: Distributed,
    max_seq_len: int | None = None,
) -> Prepared:
    """Load and encode the data; the text tokenizer is read from ``tokenizer_dir`` when it
    holds one (resume, ``--init-from``), else trained on the train split. ``max_seq_len``
    fixes the model's positions (a resumed or source run's) instead of the data's."""
    if TRAIN not in info.splits:
        raise DataError(f"{info.path} has no '{TRAIN}' split (splits: {', '.join(info.splits)})")
    train = load_split(info, TRAIN)
    if len(train) == 0:  # before the tokenizer and the lengths, which need one item
        files = ", ".join(str(f) for f in info.files(TRAIN))
        raise DataError(f"{info.path}: the '{TRAIN}' split has no rows ({files})")
    others = {s: load_split(info, s) for s in info.splits if s != TRAIN}
    codec: Codec
    if info.format == "tokens":
        codec = TokenCodec(_tokens_vocab(info, config.vocab_size))
        max_answer = None
        longest = max(
            (len(x) for frame in (train, *others.values()) for x in frame["inputs"]), default=1
        )
    elif info.format == "text":
        tokenizer = _text_tokenizer(config, train, tokenizer_dir, dist)
        codec = TextCodec(tokenizer, config.loss)
        max_answer = ANSWER_MARGIN * max(len(a) for a in codec.answers(list(train["label"])))
        longest = max(
            len(p) + max_answer
            for frame in (train, *others.values())
            for p in codec.prompts(list(frame["program"]))
        )
    else:
        raise DataError(f"{info.path}: unknown data format '{info.format}'")
    encoded = codec.encode(train)
    if len(encoded) == 0:
        raise DataError(f"{info.path}: the train split is empty")
    fixed = max_seq_len or config.max_seq_len
    max_seq_len = fixed or _round_up(longest)
    if max_seq_len < longest:
        raise ConfigError(
            f"max_seq_len {max_seq_len} is shorter than the longest item ({longest} tokens)"
            + (
                ""
                if config.max_seq_len
                else ": the model's positions come from the run it "
                "continues (train that one with a larger --max-seq-len)"
            )
        )
    rng = np.random.default_rng(config.seed)
    samples = {
        split: frame.iloc[np.sort(rng.permutation(len(frame))[: config.eval_samples])]
        for split, frame in others.items()
    }
    return Prepared(codec, encoded, samples, max_seq_len, max_answer)
