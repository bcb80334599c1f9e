"""Our ``gpt2`` preset computes exactly what Hugging Face's GPT2LMHeadModel computes."""

from __future__ import annotations

import pytest
import torch

from lolameme.models import LanguageModel, build_model

transformers = pytest.importorskip("transformers")  # a test-only dependency


def hf_twin(model: LanguageModel) -> torch.nn.Module:
    """A GPT2LMHeadModel with our model's shapes and a copy of its weights.

    HF's ``Conv1D`` stores weights as (in, out), the transpose of ``nn.Linear``.
    """
    first = model.blocks[0]
    config = transformers.GPT2Config(
        vocab_size=model.vocab_size,
        n_positions=model.max_seq_len,
        n_embd=model.config.embed_width,
        n_layer=len(model.blocks),
        n_head=first.mixer.num_heads,
        n_inner=first.mlp.c_fc.out_features,
        activation_function="gelu_new",  # GPT-2's tanh approximation
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        layer_norm_epsilon=1e-5,
        bos_token_id=0,
        eos_token_id=0,
    )
    hf = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        hf.transformer.wte.weight.copy_(model.wte.weight)
        hf.transformer.wpe.weight.copy_(model.wpe.weight)
        for ours, theirs in zip(model.blocks, hf.transformer.h, strict=True):
            pairs = [
                (ours.mixer.c_attn, theirs.attn.c_attn),
                (ours.mixer.c_proj, theirs.attn.c_proj),
                (ours.mlp.c_fc, theirs.mlp.c_fc),
                (ours.mlp.c_proj, theirs.mlp.c_proj),
            ]
            for linear, conv1d in pairs:
                conv1d.weight.copy_(linear.weight.T)
                conv1d.bias.copy_(linear.bias)
            for ln_ours, ln_theirs in ((ours.ln_1, theirs.ln_1), (ours.ln_2, theirs.ln_2)):
                ln_theirs.weight.copy_(ln_ours.weight)
                ln_theirs.bias.copy_(ln_ours.bias)
        hf.transformer.ln_f.weight.copy_(model.ln_f.weight)
        hf.transformer.ln_f.bias.copy_(model.ln_f.bias)
    return hf


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
