"""Greedy decoding: cached and recomputed paths agree, order is kept, eos stops."""

import numpy as np
import pytest
import torch

from lolameme.evaluation.decode import decode, greedy_decode
from lolameme.evaluation.evaluate import forward_stats
from lolameme.models import build_model
from lolameme.runs.batching import EncodedSplit


class _Scripted(torch.nn.Module):
    """Predicts (last token + 1) mod V, and eos (id 3) after token 7: a known answer."""

    def __init__(self, vocab: int = 12) -> None:
        super().__init__()
        self.vocab = vocab
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def _logits(self, tokens: torch.Tensor) -> torch.Tensor:
        nxt = torch.where(tokens == 7, torch.full_like(tokens, 3), (tokens + 1) % self.vocab)
        return torch.nn.functional.one_hot(nxt, self.vocab).float() + self.dummy

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self._logits(ids)


def test_decoding_follows_the_model_and_stops_at_eos() -> None:
    prompts = [[1, 4], [1, 2, 5], [9], [1, 6]]
    out = greedy_decode(_Scripted(), prompts, max_new_tokens=6, eos_id=3, batch_size=2)
    # [1, 4] and [1, 6] share a batch: it stops once both rows have said eos, so the
    # row that finished first carries on to the other's eos, and no further.
    assert out[0] == [5, 6, 7, 3]
    assert out[1] == [6, 7, 3]
    assert out[2] == [10, 11, 0, 1, 2, 3]  # never reaches 7: runs to the limit
    assert out[3] == [7, 3, 4, 5]


@pytest.mark.parametrize("spec", ["gpt2", "hyena", "thex-13", "base_conv"])
def test_cached_and_recomputed_decoding_agree(spec: str) -> None:
    torch.manual_seed(0)
    model = build_model(spec, scale="smoke", vocab_size=20, max_seq_len=64)
    with torch.no_grad():  # large weights: outputs vary with the input, so a bug shows
        for p in model.parameters():
            p.mul_(8.0)
    g = torch.Generator().manual_seed(1)
    prompts = [torch.randint(4, 20, (int(n),), generator=g).tolist() for n in [3, 5, 3, 7, 5, 3]]
    cached = greedy_decode(model, prompts, max_new_tokens=8, eos_id=3, batch_size=2)
    naive = greedy_decode(model, prompts, max_new_tokens=8, eos_id=3, batch_size=4, cached=False)
    cut = lambda ids: ids[: ids.index(3) + 1] if 3 in ids else ids  # noqa: E731
    assert [cut(c) for c in cached] == [cut(n) for n in naive]
    one_by_one = [greedy_decode(model, [p], max_new_tokens=8, eos_id=3)[0] for p in prompts]
    assert [cut(c) for c in cached] == [cut(o) for o in one_by_one]


@pytest.mark.parametrize("spec", ["gpt2", "hyena", "thex-13", "base_conv"])
def test_fused_scores_equal_a_teacher_forced_forward(spec: str) -> None:
    """The loss from prefill + teacher-forced steps is the loss of one full forward,
    and the greedy answers are unchanged by scoring from the same prefill state."""
    torch.manual_seed(0)
    model = build_model(spec, scale="smoke", vocab_size=20, max_seq_len=64)
    g = torch.Generator().manual_seed(2)
    prompts = [torch.randint(4, 20, (int(n),), generator=g).tolist() for n in [4, 6, 4, 6, 4]]
    answers = [[*torch.randint(4, 20, (int(n),), generator=g).tolist(), 3] for n in [1, 3, 2, 0, 4]]
    scored = decode(model, prompts, answers=answers, max_new_tokens=5, eos_id=3, batch_size=2)
    naive = decode(model, prompts, answers=answers, max_new_tokens=5, eos_id=3, cached=False)
    plain = greedy_decode(model, prompts, max_new_tokens=5, eos_id=3)
    assert scored.tokens == plain
    assert _same_until_eos(naive.tokens, plain)
    inputs = [np.asarray(p + a[:-1]) for p, a in zip(prompts, answers, strict=True)]
    targets = [np.asarray(p[1:] + a) for p, a in zip(prompts, answers, strict=True)]
    stats = forward_stats(
        model,
        EncodedSplit.from_rows(inputs, targets),
        pad_id=0,
        batch_size=8,
        device=torch.device("cpu"),
    )
    for result in (scored, naive):
        total = result.prompt_loss + result.answer_loss
        assert np.allclose(total, stats["loss"], rtol=1e-4, atol=1e-4)
        assert (result.prompt_n + result.answer_n == stats["n"]).all()
        assert (result.answer_n == [len(a) for a in answers]).all()


def _same_until_eos(a: list[list[int]], b: list[list[int]]) -> bool:
    cut = lambda ids: ids[: ids.index(3) + 1] if 3 in ids else ids  # noqa: E731
    return [cut(x) for x in a] == [cut(y) for y in b]


def test_stopping_after_the_longest_label_changes_no_exact_match() -> None:
    model = _Scripted()  # answers of 1..8 tokens depending on the prompt's last token
    g = torch.Generator().manual_seed(3)
    prompts = [torch.randint(4, 12, (3,), generator=g).tolist() for _ in range(48)]
    free = greedy_decode(model, prompts, max_new_tokens=12, eos_id=3, batch_size=8)
    # half the labels are what the model says (right), half are short and random (wrong)
    answers = [
        f[: f.index(3) + 1] if i % 2 else [*torch.randint(4, 12, (1,), generator=g).tolist(), 3]
        for i, f in enumerate(free)
    ]
    capped = decode(model, prompts, answers=answers, max_new_tokens=12, eos_id=3, batch_size=8)
    assert sum(map(len, capped.tokens)) < sum(map(len, free))  # it did stop earlier

    def right(generated: list[int], answer: list[int]) -> bool:
        return generated[: len(answer)] == answer

    flags = [right(c, a) for c, a in zip(capped.tokens, answers, strict=True)]
    assert flags == [right(f, a) for f, a in zip(free, answers, strict=True)]
    assert 20 <= sum(flags) <= 30


@pytest.mark.parametrize("loss", ["full", "answer"])
def test_recall_gap_from_the_decoding_pass_equals_a_separate_forward(loss: str) -> None:
    import pandas as pd

    from lolameme.evaluation.evaluate import evaluate_text
    from lolameme.evaluation.recall import RecallTally
    from lolameme.runs.batching import TextCodec
    from lolameme.runs.tokenizer import train_char

    rng = np.random.default_rng(0)
    values = rng.integers(-99, 999, 24)
    programs = [f"a = {v};b = a;print({'ab'[i % 2]})" for i, v in enumerate(values)]
    frame = pd.DataFrame({"program": programs, "label": [str(v) for v in values]})
    codec = TextCodec(train_char([*programs, "-0123456789"]), loss)  # type: ignore[arg-type]
    torch.manual_seed(0)
    model = build_model("gpt2", scale="smoke", vocab_size=codec.vocab_size, max_seq_len=64)
    device = torch.device("cpu")
    _, summary = evaluate_text(model, codec, frame, max_new_tokens=8, batch_size=5, device=device)
    separate = RecallTally()
    forward_stats(
        model, codec.encode(frame), pad_id=0, batch_size=7, device=device, recall=separate
    )
    for group, expected in separate.summary().items():
        assert summary[group]["count"] == expected["count"] > 0
        assert summary[group]["acc"] == pytest.approx(expected["acc"])
        assert summary[group]["loss"] == pytest.approx(expected["loss"], rel=1e-4)
