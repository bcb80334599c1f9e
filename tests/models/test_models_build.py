"""Built models: parameter counts, THEX structure, logits, positions, init, optimiser groups."""

from __future__ import annotations

import json
import math

import pytest
import torch
from pydantic import ValidationError

from lolameme.models import LanguageModel, build_model
from lolameme.models.mixers import BaseConv, CausalSelfAttention, Hyena

V = 61


def smoke(spec: str, **kw) -> LanguageModel:
    torch.manual_seed(0)
    return build_model(spec, scale="smoke", vocab_size=V, max_seq_len=kw.pop("max_seq_len", 32))


def paper_count(spec: str) -> int:
    with torch.device("meta"):  # shapes only: no memory, no init cost
        return build_model(spec, scale="paper", vocab_size=50257, max_seq_len=1024).num_parameters()


def test_paper_parameter_counts_match_the_paper() -> None:
    assert paper_count("gpt2") == pytest.approx(124e6, rel=0.01)
    assert paper_count("gpt2") == 124_439_808  # GPT-2 small, exactly
    assert paper_count("hyena") == pytest.approx(153e6, rel=0.01)


def test_thex_count_is_hyena_minus_a_layer_plus_gpt2_block_and_adapters() -> None:
    hyena, gpt2 = paper_count("hyena"), paper_count("gpt2")
    hyena_layer = (hyena - 50257 * 864 - 2 * 864) // 18
    gpt2_block = (gpt2 - 50257 * 768 - 1024 * 768 - 2 * 768) // 12
    adapters = (864 * 768 + 768) + (768 * 864 + 864)  # 864 -> 768 -> 864, with biases
    for n in (0, 9, 17):
        assert paper_count(f"thex-{n}") == hyena - hyena_layer + gpt2_block + adapters


@pytest.mark.parametrize("n", [0, 5, 17])
def test_thex_puts_attention_exactly_at_n_with_adapters(n: int) -> None:
    model = smoke(f"thex-{n}")
    kinds = [type(block.mixer) for block in model.blocks]
    assert kinds == [Hyena] * n + [CausalSelfAttention] + [Hyena] * (17 - n)
    att, hy = model.blocks[n].mixer.d_model, model.blocks[0 if n else 1].mixer.d_model
    assert att == 16 and hy == 18 and model.config.embed_width == 18
    # adapters exactly around the attention block, shaped to bridge the widths
    assert model.blocks[n].proj_in is not None
    assert (model.blocks[n].proj_in.in_features, model.blocks[n].proj_in.out_features) == (hy, att)
    after = model.blocks[n + 1].proj_in if n < 17 else model.proj_out
    assert after is not None and (after.in_features, after.out_features) == (att, hy)
    assert len(model.adapters()) == 2
    assert model(torch.randint(0, V, (2, 9))).shape == (2, 9, V)


@pytest.mark.parametrize("spec", ["thex-0", "thex-9", "thex-17", "gpt2", "base_conv"])
def test_gradients_reach_every_parameter(spec: str) -> None:
    model = smoke(spec)
    ids = torch.randint(0, V, (3, 20), generator=torch.Generator().manual_seed(0))
    logits = model(ids)
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("spec", ["gpt2", "hyena", "base_conv", "thex-3", "attention,hyena@20*2"])
def test_forward_returns_logits(spec: str) -> None:
    model = smoke(spec)
    ids = torch.randint(0, V, (4, 13))
    logits = model(ids)
    assert logits.shape == (4, 13, V) and logits.dtype == torch.float32
    # logits, not hidden states: the tied head applied to the final normalised stream
    x = model.wte(ids) + (model.wpe(torch.arange(13)) if model.wpe is not None else 0)
    for block in model.blocks:
        x = block(x)
    if model.proj_out is not None:
        x = model.proj_out(x)
    assert torch.allclose(logits, model.ln_f(x) @ model.wte.weight.T, atol=1e-6)


@pytest.mark.parametrize("spec", ["gpt2", "hyena", "base_conv", "thex-7"])
def test_model_is_causal(spec: str, scramble) -> None:
    model = scramble(smoke(spec), seed=1, std=0.2).eval()
    gen = torch.Generator().manual_seed(2)
    ids = torch.randint(0, V, (2, 24), generator=gen)
    with torch.no_grad():
        base = model(ids)
        for t in (1, 11, 23):
            changed = ids.clone()
            changed[:, t] = (changed[:, t] + 1 + torch.randint(0, V - 1, (2,), generator=gen)) % V
            out = model(changed)
            assert (out[:, :t] - base[:, :t]).abs().max() <= 1e-5 * base.abs().max()
            assert (out[:, t] - base[:, t]).abs().max() > 1e-3 * base.abs().max()


def test_learned_positions_only_without_position_aware_layers() -> None:
    assert smoke("gpt2").wpe is not None and smoke("gpt2").learned_positions
    assert smoke("attention*3").wpe is not None
    for spec in ("hyena", "base_conv", "thex-0", "thex-17", "attention,hyena"):
        assert smoke(spec).wpe is None, spec


def test_init_follows_gpt2() -> None:
    torch.manual_seed(0)
    model = build_model("thex-4", scale="tiny", vocab_size=500, max_seq_len=64)
    n = len(model.blocks)
    att = model.blocks[4]
    assert att.mixer.c_attn.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert model.wte.weight.std().item() == pytest.approx(0.02, rel=0.05)
    for proj in (att.mixer.c_proj, att.mlp.c_proj, model.blocks[0].mixer.out_proj):
        assert proj.weight.std().item() == pytest.approx(0.02 / math.sqrt(2 * n), rel=0.1)
    assert torch.count_nonzero(att.mixer.c_attn.bias) == 0
    for adapter in model.adapters():
        assert adapter.weight.std().item() == pytest.approx(adapter.in_features**-0.5, rel=0.1)
    assert model.lm_head.weight is model.wte.weight  # tied


def test_untied_pytorch_init_is_a_separate_head_with_torch_defaults() -> None:
    torch.manual_seed(0)
    gpt2 = build_model("attention*2", scale="tiny", vocab_size=500, max_seq_len=64)
    torch.manual_seed(0)
    model = build_model(
        "attention*2",
        scale="tiny",
        vocab_size=500,
        max_seq_len=64,
        tie_embeddings=False,
        init="pytorch",
    )
    assert model.lm_head.weight is not model.wte.weight
    assert model.num_parameters() == gpt2.num_parameters() + 500 * 64
    assert model.wte.weight.std().item() == pytest.approx(1.0, rel=0.05)  # nn.Embedding's N(0, 1)
    assert model.wpe.weight.std().item() == pytest.approx(1.0, rel=0.1)
    bound = 64**-0.5  # nn.Linear: uniform in +-1/sqrt(fan_in), biases too
    c_attn = model.blocks[0].mixer.c_attn
    assert c_attn.weight.abs().max().item() <= bound
    assert c_attn.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert torch.count_nonzero(c_attn.bias) > 0
    data = json.loads(json.dumps(model.config_dict()))
    assert data["tie_embeddings"] is False and data["init"] == "pytorch"
    rebuilt = LanguageModel.from_config_dict(data)  # the knobs survive a save and load
    assert rebuilt.lm_head.weight is not rebuilt.wte.weight  # untied
    assert rebuilt.num_parameters() == model.num_parameters()
    assert rebuilt.config.init == "pytorch"
    assert rebuilt.wte.weight.std().item() == pytest.approx(1.0, rel=0.05)
    with pytest.raises(ValidationError, match="init"):
        LanguageModel.from_config_dict({**data, "init": "xavier"})


def test_a_config_saved_before_the_knobs_rebuilds_as_gpt2() -> None:
    data = smoke("gpt2").config_dict()
    for key in ("tie_embeddings", "init"):
        del data[key]
    model = LanguageModel.from_config_dict(data)
    assert model.lm_head.weight is model.wte.weight
    assert model.config.init == "gpt2"


def test_param_groups_exempt_filters_and_vectors() -> None:
    model = smoke("hyena*2,attention,base_conv*2")
    decay, no_decay = model.param_groups(0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    decay_ids = {id(p) for p in decay["params"]}
    no_decay_ids = {id(p) for p in no_decay["params"]}
    assert not decay_ids & no_decay_ids
    assert decay_ids | no_decay_ids == {id(p) for p in model.parameters()}
    filters = [
        p
        for b in model.blocks
        if isinstance(b.mixer, (Hyena, BaseConv)) and b.mixer.filter is not None
        for p in b.mixer.filter.parameters()
    ]
    assert any(p.dim() == 2 for p in filters)  # the filter MLP's matrices
    assert all(id(p) in no_decay_ids for p in filters)
    for p in model.parameters():
        if p.dim() < 2:
            assert id(p) in no_decay_ids
    assert id(model.wte.weight) in decay_ids
    assert id(model.blocks[2].mixer.c_attn.weight) in decay_ids
    torch.optim.AdamW(model.param_groups(0.1), lr=1e-3)  # accepted as is


def test_config_dict_rebuilds_the_same_model() -> None:
    model = smoke("thex-2")
    data = json.loads(json.dumps(model.config_dict()))
    assert data["spec"] == "thex-2" and data["scale"] == "smoke"
    assert data["vocab_size"] == V and data["max_seq_len"] == 32
    clone = LanguageModel.from_config_dict(data)
    clone.load_state_dict(model.state_dict())
    ids = torch.randint(0, V, (2, 10))
    assert torch.equal(clone(ids), model(ids))
    assert clone.spec == model.spec and clone.num_parameters() == model.num_parameters()
    with pytest.raises(ValidationError):
        LanguageModel.from_config_dict({**data, "dropout": 0.1})


def test_state_size_counts_every_mixer() -> None:
    gpt2 = smoke("gpt2", max_seq_len=32)
    assert gpt2.state_size() == 12 * 2 * 32 * 16
    assert gpt2.state_size(8) == 12 * 2 * 8 * 16
    hyena = smoke("hyena")
    assert hyena.state_size() == 18 * (32 * 18 + 3 * 18 * 2)  # history + 2 past short-conv inputs


def test_too_long_input_is_an_error() -> None:
    for spec in ("gpt2", "hyena"):
        with pytest.raises(ValueError, match="max_seq_len"):
            smoke(spec)(torch.zeros(1, 33, dtype=torch.long))


def test_a_tiny_model_learns_a_repeating_sequence() -> None:
    """End to end: a few AdamW steps on a cyclic sequence cut the loss."""
    torch.manual_seed(0)
    model = build_model("thex-9", scale="smoke", vocab_size=8, max_seq_len=32)
    ids = (torch.arange(32) % 8).repeat(4, 1)
    opt = torch.optim.AdamW(model.param_groups(0.01), lr=3e-3)
    losses = []
    for _ in range(30):
        logits = model(ids[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 8), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_scaled_init_rescales_gpt2s_std_to_the_fan_in() -> None:
    torch.manual_seed(0)
    model = build_model("attention*2", scale="tiny", vocab_size=500, max_seq_len=64, init="scaled")
    n, width = len(model.blocks), model.config.embed_width
    std = lambda fan_in: 0.02 * math.sqrt(768 / fan_in)  # noqa: E731
    block = model.blocks[0]
    assert block.mixer.c_attn.weight.std().item() == pytest.approx(std(width), rel=0.05)
    assert model.wte.weight.std().item() == pytest.approx(std(width), rel=0.05)
    assert model.wpe.weight.std().item() == pytest.approx(std(width), rel=0.1)
    fan_in = block.mlp.c_proj.in_features
    assert block.mlp.c_proj.weight.std().item() == pytest.approx(
        std(fan_in) / math.sqrt(2 * n), rel=0.1
    )
    assert torch.count_nonzero(block.mixer.c_attn.bias) == 0
    assert model.lm_head.weight is model.wte.weight  # the tie is the caller's choice
    # at GPT-2's fan-in of 768 the scaled init is GPT-2's; the MLP's c_proj (fan-in 4 x 768)
    # gets half of it (same draws: the RNG is seeded alike)
    torch.manual_seed(0)
    wide = build_model("attention@768", scale="tiny", vocab_size=50, max_seq_len=16, init="scaled")
    torch.manual_seed(0)
    gpt2 = build_model("attention@768", scale="tiny", vocab_size=50, max_seq_len=16)
    for name, tensor in gpt2.state_dict().items():
        factor = 0.5 if name.endswith("mlp.c_proj.weight") else 1.0
        assert torch.allclose(wide.state_dict()[name], factor * tensor), name


def test_the_tiny_scale_keeps_its_calibrated_hyena_filter() -> None:
    """Calibration round 4 (docs/results/calibration.md): frequency 1 at tiny width; the
    paper's models keep the Hyena language models' 14."""
    from lolameme.models.presets import get_scale

    assert get_scale("tiny").defaults("hyena").kwargs["filter_frequency"] == 1.0
    assert get_scale("paper").defaults("hyena").kwargs["filter_frequency"] == 14.0
    tiny = build_model("hyena", scale="tiny", vocab_size=16, max_seq_len=8)
    assert bool((tiny.blocks[0].mixer.filter.mlp[1].freq == 1.0).all())
