"""prefill + step decoding gives the logits of the full forward pass, for every preset."""

from __future__ import annotations

import pytest
import torch

from lolameme.models import build_model

V = 41


SPECS = ["gpt2", "hyena", "base_conv", "thex-0", "thex-9", "thex-17", "base_conv*3,attention@24"]


@pytest.mark.parametrize("spec", SPECS)
def test_prefill_then_step_equals_forward(spec: str, scramble) -> None:
    torch.manual_seed(0)
    model = build_model(spec, scale="smoke", vocab_size=V, max_seq_len=24)
    scramble(model, seed=4, std=0.2).eval()
    ids = torch.randint(0, V, (3, 24), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        full = model(ids)
        prompt_logits, state = model.prefill(ids[:, :7])
        assert torch.allclose(prompt_logits, full[:, :7], atol=1e-5)
        assert state.position == 7
        tolerance = 1e-4 * (1 + full.abs().max().item())
        for t in range(7, 24):
            logits, state = model.step(ids[:, t], state)
            assert logits.shape == (3, V)
            assert torch.allclose(logits, full[:, t], atol=tolerance), t
        with pytest.raises(ValueError, match="max_seq_len"):
            model.step(ids[:, 0], state)
        # keep: logits of the whole sequence, and the state after its first 7 positions
        logits, state = model.prefill(ids[:, :20], keep=7)
        assert torch.allclose(logits, full[:, :20], atol=1e-5)
        assert state.position == 7
        for t in range(7, 12):
            logits, state = model.step(ids[:, t], state)
            assert torch.allclose(logits, full[:, t], atol=tolerance), t


def test_greedy_decoding_matches_argmax_of_forward(scramble) -> None:
    """The evaluator's use: extend a batch of equal-length prompts greedily. Scrambled
    weights: at GPT-2 init the argmax follows the last token alone, so a step that
    forgot the history would still pick the same tokens. std=0.5, not 0.2 as above:
    at 0.2 this deep model's greedy output collapses to one repeated token."""
    torch.manual_seed(0)
    model = build_model("thex-5", scale="smoke", vocab_size=V, max_seq_len=32)
    scramble(model, seed=4, std=0.5).eval()
    prompt = torch.randint(0, V, (4, 6), generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        logits, state = model.prefill(prompt)
        tokens = [logits[:, -1].argmax(-1)]
        for _ in range(9):
            logits, state = model.step(tokens[-1], state)
            tokens.append(logits.argmax(-1))
        fast = torch.stack(tokens, dim=1)
        seq = prompt
        for _ in range(10):  # the slow way: a full forward per new token
            seq = torch.cat([seq, model(seq)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert len(set(seq[:, 6:].flatten().tolist())) >= 3  # not one repeated token
    assert torch.equal(fast, seq[:, 6:])
