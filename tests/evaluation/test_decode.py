"""Greedy decoding: cached and recomputed paths agree, order is kept, eos stops."""

import pytest
import torch

from lolameme.evaluation.decode import greedy_decode
from lolameme.models import build_model


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
    assert out[0][:4] == [5, 6, 7, 3]
    assert out[1][:3] == [6, 7, 3]
    assert out[2] == [10, 11, 0, 1, 2, 3]  # never reaches 7: runs to the limit
    assert out[3][:2] == [7, 3]


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
