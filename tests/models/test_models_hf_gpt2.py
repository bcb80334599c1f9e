"""Our ``gpt2`` preset computes exactly what Hugging Face's GPT2LMHeadModel computes."""

from __future__ import annotations

import pytest
import torch

from lolameme.models import LanguageModel, build_model
from lolameme.models.hf import gpt2_problem, gpt2_state_dict, to_transformers

transformers = pytest.importorskip("transformers")  # a test-only dependency


def hf_twin(model: LanguageModel) -> torch.nn.Module:
    """The package's own mapping (``lolameme.models.hf``), as ``lolameme export`` uses it."""
    return to_transformers(model)


def test_gpt2_logits_equal_huggingface(scramble) -> None:
    torch.manual_seed(0)
    model = build_model("gpt2", scale="smoke", vocab_size=97, max_seq_len=48).eval()
    scramble(model, seed=3, std=0.2)  # beyond init, so every weight matters
    hf = hf_twin(model)
    assert sum(p.numel() for p in hf.parameters()) == model.num_parameters()
    ids = torch.randint(0, 97, (3, 48), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ours = model(ids)
        theirs = hf(ids).logits
    assert ours.shape == theirs.shape == (3, 48, 97)
    assert ours.abs().max() > 0.5  # a real signal, not near-zero logits
    assert torch.allclose(ours, theirs, atol=1e-5, rtol=0)


def test_exact_gelu_would_be_detected(scramble) -> None:
    """The comparison is sharp enough to see erf GELU instead of GPT-2's tanh form."""
    torch.manual_seed(0)
    model = build_model("gpt2", scale="smoke", vocab_size=97, max_seq_len=16).eval()
    scramble(model, seed=3, std=0.2)
    hf = hf_twin(model)
    for block in model.blocks:
        block.mlp.gelu = torch.nn.GELU()  # erf form
    ids = torch.randint(0, 97, (2, 16), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert not torch.allclose(model(ids), hf(ids).logits, atol=1e-5, rtol=0)


def test_untied_head_maps_too(scramble) -> None:
    torch.manual_seed(0)
    model = build_model("attention*2", scale="smoke", vocab_size=50, max_seq_len=16,
                        tie_embeddings=False).eval()  # fmt: skip
    scramble(model, seed=4, std=0.2)
    hf = hf_twin(model)
    assert not hf.config.tie_word_embeddings
    assert "lm_head.weight" in gpt2_state_dict(model)
    ids = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(model(ids), hf(ids).logits, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("hyena*2", "layer 0 is 'hyena'"),
        ("attention*2,hyena", "layer 2 is 'hyena'"),
        ("thex-2", "layer 0 is 'hyena'"),
    ],
)
def test_other_patterns_have_no_gpt2_twin(spec: str, reason: str) -> None:
    model = build_model(spec, scale="smoke", vocab_size=50, max_seq_len=16)
    problem = gpt2_problem(model)
    assert problem is not None and reason in problem
    with pytest.raises(ValueError, match="not a GPT-2 model"):
        gpt2_state_dict(model)
