"""Encoding and batching: next-token targets, loss masks, padding, order and sharding."""

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lolameme.data.store import IGNORE_INDEX
from lolameme.errors import DataError
from lolameme.runs.batching import (
    BatchSampler,
    EncodedSplit,
    TextCodec,
    TokenCodec,
    epoch_batches,
)
from lolameme.runs.tokenizer import train_char
from lolameme.training.trainer import _loss

FRAME = pd.DataFrame({"program": ["a = 5;print(a)", "b = -12;print(b)"], "label": ["5", "-12"]})
CHAR = train_char([*FRAME["program"], *FRAME["label"], "0123456789"])


def _item(encoded, i):
    lo, hi = encoded.offsets[i], encoded.offsets[i + 1]
    return encoded.inputs[lo:hi].tolist(), encoded.targets[lo:hi].tolist()


def test_text_sequence_layout_and_full_loss() -> None:
    encoded = TextCodec(CHAR, "full").encode(FRAME)
    inputs, targets = _item(encoded, 1)
    program = CHAR.encode_batch(["b = -12;print(b)"])[0]
    label = CHAR.encode_batch(["-12"])[0]
    sequence = [CHAR.bos_id, *program, CHAR.sep_id, *label, CHAR.eos_id]
    assert inputs == sequence[:-1]
    assert targets == sequence[1:]


def test_answer_loss_keeps_only_label_and_eos() -> None:
    encoded = TextCodec(CHAR, "answer").encode(FRAME)
    inputs, targets = _item(encoded, 1)
    labelled = [t for t in targets if t != IGNORE_INDEX]
    assert labelled == [*CHAR.encode_batch(["-12"])[0], CHAR.eos_id]
    # every labelled target sits at or after the <sep> input
    first = next(i for i, t in enumerate(targets) if t != IGNORE_INDEX)
    assert inputs[first] == CHAR.sep_id


def test_decode_answer_stops_at_eos() -> None:
    codec = TextCodec(CHAR)
    ids = [*CHAR.encode_batch(["-48"])[0], CHAR.eos_id, *CHAR.encode_batch(["9"])[0]]
    assert codec.decode_answer(ids) == "-48"
    assert codec.decode_answer([CHAR.eos_id]) == ""


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=20), st.integers(0, 2**16))
def test_padding_never_carries_a_target(lengths: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    inputs = [rng.integers(5, 9, n) for n in lengths]
    targets = [np.where(rng.random(n) < 0.5, IGNORE_INDEX, rng.integers(5, 9, n)) for n in lengths]
    encoded = EncodedSplit.from_rows(inputs, targets)
    for batch in epoch_batches(encoded.lengths, 4, seed=seed, epoch=0):
        x, y = encoded.batch(batch, pad_id=0)
        for row, i in enumerate(batch):
            n = lengths[i]
            assert (y[row, n:] == IGNORE_INDEX).all()
            assert (x[row, n:] == 0).all()
            assert y[row, :n].tolist() == targets[i].tolist()


def test_epoch_batches_cover_each_item_once_and_are_seeded() -> None:
    lengths = np.random.default_rng(0).integers(1, 50, 1000)
    a = epoch_batches(lengths, 32, seed=1, epoch=0)
    assert sorted(np.concatenate(a).tolist()) == list(range(1000))
    assert all(len(b) <= 32 for b in a)
    again = epoch_batches(lengths, 32, seed=1, epoch=0)
    assert all((x == y).all() for x, y in zip(a, again, strict=True))
    other = epoch_batches(lengths, 32, seed=1, epoch=1)
    assert any(len(x) != len(y) or (x != y).any() for x, y in zip(a, other, strict=False))
    # bucketing: padding in a batch is far below what random batches would give
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in a])
    assert spread < 5


def test_sampler_state_resumes_the_same_stream() -> None:
    lengths = np.arange(1, 101)
    straight = BatchSampler(lengths, 8, seed=3)
    it = iter(straight)
    expected = [next(it).tolist() for _ in range(30)]  # crosses an epoch boundary (13/epoch)
    first = BatchSampler(lengths, 8, seed=3)
    it = iter(first)
    got = [next(it).tolist() for _ in range(17)]
    resumed = BatchSampler(lengths, 8, seed=3)
    resumed.load_state_dict(first.state_dict())
    it = iter(resumed)
    got += [next(it).tolist() for _ in range(13)]
    assert got == expected


def test_ranks_take_disjoint_shards_of_equal_count() -> None:
    """Every rank gets as many batches as the others (else DDP hangs), none shared."""
    lengths = np.arange(1, 51)  # 13 batches of 4: one is dropped so 3 ranks get 4 each
    samplers = [BatchSampler(lengths, 4, seed=0, rank=r, world_size=3) for r in range(3)]
    assert {s.steps_per_epoch() for s in samplers} == {13 // 3}
    shards = [s._mine() for s in samplers]
    assert [len(shard) for shard in shards] == [13 // 3] * 3
    for sampler, shard in zip(samplers, shards, strict=True):  # what iteration yields
        it = iter(sampler)
        assert [next(it).tolist() for _ in shard] == [b.tolist() for b in shard]
        next(it)
        assert (sampler.epoch, sampler.position) == (1, 1)
    seen = [set(np.concatenate(shard).tolist()) for shard in shards]
    for a in range(3):
        for b in range(a + 1, 3):
            assert not seen[a] & seen[b], (a, b)
    with pytest.raises(DataError, match="too few items"):
        BatchSampler(np.arange(1, 3), 4, seed=0, rank=0, world_size=4)


def test_tokens_codec_passes_targets_through_and_checks_vocab() -> None:
    frame = pd.DataFrame({"inputs": [[1, 2, 3]], "targets": [[-100, 3, -100]]})
    encoded = TokenCodec(8).encode(frame)
    assert encoded.inputs.tolist() == [1, 2, 3]
    assert encoded.targets.tolist() == [-100, 3, -100]
    with pytest.raises(DataError, match="vocab"):
        TokenCodec(3).encode(frame)
    bad = pd.DataFrame({"inputs": [[1, 2]], "targets": [[1]]})
    with pytest.raises(DataError, match="differ in length"):
        TokenCodec(8).encode(bad)


def test_loss_ignores_unlabelled_positions() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 7)
    targets = torch.tensor([[-100, 3, -100, 1, -100], [2, -100, -100, -100, -100]])
    expected = torch.nn.functional.cross_entropy(
        torch.stack([logits[0, 1], logits[0, 3], logits[1, 0]]), torch.tensor([3, 1, 2])
    )
    assert torch.allclose(_loss(logits, targets), expected)
    changed = logits.clone()
    changed[targets == IGNORE_INDEX] = 100 * torch.randn_like(changed[targets == IGNORE_INDEX])
    assert torch.allclose(_loss(changed, targets), expected)
    assert _loss(logits, torch.full((2, 5), IGNORE_INDEX)).item() == 0.0
