"""From data-set rows to (inputs, targets) tensors, and the order batches are drawn in.

Both data formats end up as one :class:`EncodedSplit` (flat token arrays plus offsets),
so one training loop serves LoLa/MeMe, ListOps and MQAR:

- ``text`` rows become ``<bos> program <sep> label <eos>``; the model reads every token
  but the last and predicts the next one. With ``loss="full"`` every next token counts
  (recalling a global needs the program text to be learnt); with ``loss="answer"`` only
  the label tokens and ``<eos>`` do.
- ``tokens`` rows (MQAR) carry their own inputs and per-position targets.

Targets are ``-100`` (ignored by the loss) on padding and on positions without a label.
Batches are length-bucketed and right-padded: right padding never changes what a causal
model computes at the real positions, and bucketing keeps the padding small.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from lolameme.data.store import IGNORE_INDEX
from lolameme.errors import DataError
from lolameme.runs.tokenizer import TextTokenizer

LossMode = Literal["full", "answer"]


@dataclass(frozen=True)
class EncodedSplit:
    """Variable-length sequences stored flat: item ``i`` is ``[offsets[i], offsets[i+1])``."""

    inputs: np.ndarray
    targets: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def from_rows(cls, inputs: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> EncodedSplit:
        """Pack per-item arrays (equal lengths pairwise) into one flat split."""
        lengths = np.fromiter((len(x) for x in inputs), dtype=np.int64, count=len(inputs))
        offsets = np.zeros(len(inputs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        empty = np.zeros(0, np.int64)
        flat_in = np.concatenate(inputs).astype(np.int64) if len(inputs) else empty
        flat_tg = np.concatenate(targets).astype(np.int64) if len(targets) else empty
        return cls(flat_in, flat_tg, offsets)

    def batch(self, indices: Sequence[int], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ``(inputs, targets)`` of shape ``[len(indices), longest]``."""
        lengths = self.lengths[np.asarray(indices)]
        width = int(lengths.max())
        inputs = np.full((len(indices), width), pad_id, dtype=np.int64)
        targets = np.full((len(indices), width), IGNORE_INDEX, dtype=np.int64)
        for row, (i, n) in enumerate(zip(indices, lengths, strict=True)):
            start = self.offsets[i]
            inputs[row, :n] = self.inputs[start : start + n]
            targets[row, :n] = self.targets[start : start + n]
        return torch.from_numpy(inputs), torch.from_numpy(targets)


class TextCodec:
    """Encodes ``text`` rows for training and decodes generated answers."""

    def __init__(self, tokenizer: TextTokenizer, loss: LossMode = "full") -> None:
        self.tokenizer = tokenizer
        self.loss = loss
        self.pad_id = tokenizer.pad_id
        self.eos_id = tokenizer.eos_id
        self.vocab_size = tokenizer.vocab_size

    def prompts(self, programs: Sequence[str]) -> list[list[int]]:
        """``<bos> program <sep>``: what the model sees before it answers."""
        t = self.tokenizer
        return [[t.bos_id, *ids, t.sep_id] for ids in t.encode_batch(programs)]

    def answers(self, labels: Sequence[str]) -> list[list[int]]:
        """``label <eos>``: what the model must produce after ``<sep>``."""
        return [[*ids, self.eos_id] for ids in self.tokenizer.encode_batch(labels)]

    def decode_answer(self, ids: Sequence[int]) -> str:
        """The answer text of generated ids, up to (not including) the first ``<eos>``."""
        ids = list(ids)
        if self.eos_id in ids:
            ids = ids[: ids.index(self.eos_id)]
        return self.tokenizer.decode(ids)

    def encode(self, frame: Any) -> EncodedSplit:
        programs = [str(p) for p in frame["program"]]
        labels = [str(label) for label in frame["label"]]
        inputs, targets = [], []
        for prompt, answer in zip(self.prompts(programs), self.answers(labels), strict=True):
            seq = np.asarray(prompt + answer, dtype=np.int64)
            target = seq[1:].copy()
            if self.loss == "answer":
                target[: len(prompt) - 1] = IGNORE_INDEX
            inputs.append(seq[:-1])
            targets.append(target)
        return EncodedSplit.from_rows(inputs, targets)


class TokenCodec:
    """``tokens`` rows are already ids and per-position targets: only checks are left."""

    def __init__(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size
        self.pad_id = 0  # any valid id: padded positions carry no target
        self.eos_id = None

    def encode(self, frame: Any) -> EncodedSplit:
        inputs = [np.asarray(x, dtype=np.int64) for x in frame["inputs"]]
        targets = [np.asarray(x, dtype=np.int64) for x in frame["targets"]]
        for i, (x, y) in enumerate(zip(inputs, targets, strict=True)):
            if len(x) != len(y):
                raise DataError(f"row {i}: inputs and targets differ in length")
        encoded = EncodedSplit.from_rows(inputs, targets)
        labelled = encoded.targets[encoded.targets != IGNORE_INDEX]
        top = max(int(encoded.inputs.max(initial=0)), int(labelled.max(initial=0)))
        if top >= self.vocab_size or encoded.inputs.min(initial=0) < 0:
            raise DataError(
                f"token id {top} is outside the vocabulary of size {self.vocab_size} "
                "(tokenizer/vocab mismatch: raise --vocab-size or check the data set)"
            )
        return encoded


Codec = TextCodec | TokenCodec


def epoch_batches(
    lengths: np.ndarray,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    chunk_batches: int = 50,
) -> list[np.ndarray]:
    """The batches of one epoch, a pure function of ``(seed, epoch)``.

    Shuffle, then sort by length inside chunks of ``chunk_batches`` batches (so batches
    hold items of similar length), then shuffle the batch order. Being a pure function
    makes the sampler state just ``(epoch, position)``: a resume rebuilds the epoch.
    """
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    perm = torch.randperm(len(lengths), generator=generator).numpy()
    chunk = batch_size * chunk_batches
    batches: list[np.ndarray] = []
    for start in range(0, len(perm), chunk):
        idx = perm[start : start + chunk]
        idx = idx[np.argsort(lengths[idx], kind="stable")]
        batches.extend(idx[i : i + batch_size] for i in range(0, len(idx), batch_size))
    order = torch.randperm(len(batches), generator=generator).numpy()
    return [batches[i] for i in order]


def sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Deterministic length-sorted batches for evaluation (least padding, no shuffling)."""
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@dataclass
class BatchSampler:
    """Endless stream of training batches, sharded over ``world_size`` processes.

    Each epoch's batch list is cut to a multiple of ``world_size``; process ``rank``
    takes batches ``rank, rank + world_size, ...``. All processes advance ``position``
    in step, so one ``(epoch, position)`` pair is the whole state.
    """

    lengths: np.ndarray
    batch_size: int
    seed: int
    rank: int = 0
    world_size: int = 1
    epoch: int = 0
    position: int = 0

    def __post_init__(self) -> None:
        if self.steps_per_epoch() == 0:
            raise DataError(
                f"the train split has too few items ({len(self.lengths)}) for one batch "
                f"per process ({self.world_size} processes)"
            )

    def steps_per_epoch(self) -> int:
        n_batches = -(-len(self.lengths) // self.batch_size)
        return n_batches // self.world_size

    def _mine(self) -> list[np.ndarray]:
        batches = epoch_batches(self.lengths, self.batch_size, seed=self.seed, epoch=self.epoch)
        usable = len(batches) - len(batches) % self.world_size
        return batches[self.rank : usable : self.world_size]

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            mine = self._mine()
            while self.position < len(mine):
                batch = mine[self.position]
                self.position += 1
                yield batch
            self.epoch += 1
            self.position = 0

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
