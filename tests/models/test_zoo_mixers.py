"""Zoology's mixers: H3, RWKV-4, repeated-bigram sparse attention, and the WKV operator
(their conformance checks: ``test_conformance.py``)."""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lolameme.models import MIXERS, SpecError, build_model
from lolameme.models.block import Block
from lolameme.models.mixers import H3, RWKV, Mixer, SparseAttention, sparse_attention
from lolameme.models.mixers.sparse_attention import repeated_bigram_mask
from lolameme.models.ops import fft_causal_conv
from lolameme.models.wkv import WKVState, wkv_parallel, wkv_step

WIDTH, L_MAX, VOCAB = 16, 48, 7
# Causality and decoding of every registered mixer: test_conformance.py (registry-driven).


def make(name: str, kwargs: dict, seed: int = 0) -> Mixer:
    """A mixer with large random weights: small init would hide leaks under tolerances."""
    torch.manual_seed(seed)
    mixer = MIXERS[name](WIDTH, 1, 4, l_max=L_MAX, **kwargs)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in mixer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return mixer.eval()


def ids_for(mixer: Mixer, ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return (ids,) if mixer.needs_token_ids else ()


def test_zoo_mixers_are_registered() -> None:
    assert MIXERS["h3"] is H3 and MIXERS["rwkv"] is RWKV
    assert MIXERS["sparse_attention"] is SparseAttention
    assert [cls.needs_token_ids for cls in MIXERS.values()].count(True) == 1


def test_state_sizes() -> None:
    h3 = make("h3", {"d_state": 8, "shift_size": 4})
    assert h3.state_size(10) == h3.state_size(10_000) == WIDTH * (8 + 3)
    assert make("rwkv", {}).state_size(10_000) == 5 * WIDTH  # num, den, scale + 2 shifts
    assert make("rwkv", {"channel_mix_ratio": 0}).state_size(7) == 4 * WIDTH
    assert make("sparse_attention", {}).state_size(100) == 2 * 100 * WIDTH + 100


# --- WKV -------------------------------------------------------------------------------
def wkv_reference(w: torch.Tensor, u: torch.Tensor, k: torch.Tensor, v: torch.Tensor):
    """The defining formula, position by position, in float64 log-space."""
    w, u, k, v = (x.double() for x in (w, u, k, v))
    out = torch.empty_like(k)
    for t in range(k.shape[1]):
        past = torch.arange(t, dtype=torch.float64)
        logits = torch.cat(
            [k[:, :t] - (t - 1 - past)[None, :, None] * w, (u + k[:, t])[:, None]], 1
        )
        weights = torch.softmax(logits, dim=1)
        out[:, t] = (weights * v[:, : t + 1]).sum(1)
    return out


def random_wkv(gen: torch.Generator, length: int, channels: int, key_scale: float = 3.0):
    k = torch.randn(2, length, channels, generator=gen) * key_scale
    v = torch.randn(2, length, channels, generator=gen)
    w = torch.exp(torch.randn(channels, generator=gen))
    u = torch.randn(channels, generator=gen)
    return w, u, k, v


@pytest.mark.parametrize("chunk", [1, 4, 32, 100])
def test_wkv_parallel_matches_the_formula(chunk: int, gen: torch.Generator) -> None:
    w, u, k, v = random_wkv(gen, 37, 5)
    y, _ = wkv_parallel(w, u, k, v, chunk=chunk)
    assert torch.allclose(y.double(), wkv_reference(w, u, k, v), atol=1e-5)


def test_wkv_state_continues_a_sequence(gen: torch.Generator) -> None:
    w, u, k, v = random_wkv(gen, 40, 6)
    full, end = wkv_parallel(w, u, k, v, chunk=8)
    first, state = wkv_parallel(w, u, k[:, :13], v[:, :13], chunk=8)
    second, end2 = wkv_parallel(w, u, k[:, 13:], v[:, 13:], state, chunk=8)
    assert torch.allclose(torch.cat([first, second], 1), full, atol=1e-5)
    steps, state = [], WKVState.empty(2, 6)
    for t in range(40):
        y_t, state = wkv_step(w, u, k[:, t], v[:, t], state)
        steps.append(y_t)
    assert torch.allclose(torch.stack(steps, 1), full, atol=1e-5)
    for a, b in ((end, end2), (end, state)):  # same sums, same scale
        assert torch.allclose(a.num * a.log_scale.exp(), b.num * b.log_scale.exp(), rtol=1e-4)
        assert torch.allclose(a.den * a.log_scale.exp(), b.den * b.log_scale.exp(), rtol=1e-4)


def test_wkv_is_stable_on_long_sequences_with_extreme_values(gen: torch.Generator) -> None:
    """L = 4096, keys up to ~|300| and decays from e^-8 to e^20: a naive sum of
    exponentials overflows float32 (e^89 = inf); the scaled sums stay finite, the
    gradients too, and the recurrent form agrees with the parallel one to the end."""
    length, channels = 4096, 8
    k = (torch.randn(1, length, channels, generator=gen) * 100).requires_grad_()
    v = torch.randn(1, length, channels, generator=gen)
    time_decay = torch.linspace(-8, 20, channels).requires_grad_()
    u = torch.randn(channels, generator=gen) * 50
    assert not torch.isfinite(torch.exp(k.detach()).sum(1)).all()  # the naive form would fail
    y, _ = wkv_parallel(torch.exp(time_decay), u, k, v)
    assert torch.isfinite(y).all()
    y.square().sum().backward()
    assert torch.isfinite(k.grad).all() and torch.isfinite(time_decay.grad).all()
    with torch.no_grad():
        state, w, last = WKVState.empty(1, channels), torch.exp(time_decay), []
        for t in range(length):
            y_t, state = wkv_step(w, u, k[:, t], v[:, t], state)
            if t >= length - 64:
                last.append(y_t)
    assert torch.allclose(torch.stack(last, 1), y[:, -64:].detach(), atol=1e-4)
    assert y.abs().max() <= v.abs().max() + 1e-4  # a convex combination of the values


def test_wkv_gradients_match_the_formula(gen: torch.Generator) -> None:
    w, u, k, v = random_wkv(gen, 19, 3)
    log_w = torch.log(w).double().requires_grad_()
    kd, vd, ud = (x.double().requires_grad_() for x in (k, v, u))
    probe = torch.randn(2, 19, 3, generator=gen, dtype=torch.float64)
    (wkv_parallel(torch.exp(log_w), ud, kd, vd, chunk=4)[0] * probe).sum().backward()
    got = [x.grad.clone() for x in (log_w, ud, kd, vd)]
    for x in (log_w, ud, kd, vd):
        x.grad = None
    (wkv_reference(torch.exp(log_w), ud, kd, vd) * probe).sum().backward()
    for g, x in zip(got, (log_w, ud, kd, vd), strict=True):
        assert torch.allclose(g, x.grad, atol=1e-6)


# --- RWKV ------------------------------------------------------------------------------
def test_rwkv_chunk_size_does_not_change_the_output(gen: torch.Generator) -> None:
    u = torch.randn(2, 33, WIDTH, generator=gen)
    outs = [make("rwkv", {"chunk_size": c})(u) for c in (1, 7, 64)]
    assert torch.allclose(outs[0], outs[1], atol=1e-5) and torch.allclose(
        outs[0], outs[2], atol=1e-5
    )


def test_rwkv_channel_mixing_is_inside_the_mixer(gen: torch.Generator) -> None:
    """mixer(h) = a + channel_mix(LN(h + a)) with a = time_mix(h); ratio 0 leaves a."""
    full, time_only = make("rwkv", {}), make("rwkv", {"channel_mix_ratio": 0})
    time_only.load_state_dict(full.state_dict(), strict=False)
    u = torch.randn(2, 12, WIDTH, generator=gen)
    with torch.no_grad():
        a = time_only(u)
        z = full.ln_channel(u + a)
        previous = torch.cat([torch.zeros_like(z[:, :1]), z[:, :-1]], 1)
        assert torch.allclose(full(u), a + full.channel_mixing(z, previous), atol=1e-5)
        assert not torch.allclose(full(u), a, atol=1e-3)
    assert full.channel_mixing.key.out_features == 4 * WIDTH


def test_rwkv_init_spreads_decays_and_slows_deeper_layers() -> None:
    first, last = RWKV(WIDTH, 0, 4, l_max=8), RWKV(WIDTH, 3, 4, l_max=8)
    decay = first.time_mixing.time_decay
    assert decay[0].item() == pytest.approx(-5) and decay[-1].item() == pytest.approx(3)
    assert torch.all(decay[1:] > decay[:-1])
    assert last.time_mixing.time_decay[1:-1].mean() < decay[1:-1].mean()
    assert RWKV(WIDTH, 0, 1, l_max=8).time_mixing.time_decay.isfinite().all()  # one layer


# --- H3 --------------------------------------------------------------------------------
def test_h3_kernel_is_the_unrolled_recurrence() -> None:
    ssm = make("h3", {"d_state": 6}).ssm
    impulse = torch.zeros(2, WIDTH, 20)
    impulse[:, :, 0] = 1.0
    x = torch.zeros(2, WIDTH, 3, dtype=torch.complex64)
    response = []
    with torch.no_grad():
        for t in range(20):
            y_t, x = ssm.step(impulse[:, :, t], x)
            response.append(y_t)
        kernel = ssm.kernel(20)
    assert torch.allclose(torch.stack(response, -1)[0], kernel, atol=1e-5)
    assert kernel.abs().max() > 1e-2


def test_h3_order_shift_k_gate_v_read_with_q(gen: torch.Generator) -> None:
    """Pin y = out_proj(q * ssm(shift(k) * v)): swapping q and k's roles changes it."""
    h3 = make("h3", {"d_state": 8})
    u = torch.randn(2, 15, WIDTH, generator=gen)
    with torch.no_grad():
        q, k, v = h3.in_proj(u).split(WIDTH, dim=-1)
        kernel = h3.ssm.kernel(15)
        want = q * fft_causal_conv(h3.shift(k) * v, kernel, h3.D)
        swapped = k * fft_causal_conv(h3.shift(q) * v, kernel, h3.D)
        got = h3(u)
    assert torch.allclose(got, h3.out_proj(want), atol=1e-5)
    assert not torch.allclose(got, h3.out_proj(swapped), atol=1e-2)


@pytest.mark.parametrize(
    "changed", [{"d_state": 4}, {"shift_size": 2}, {"dt_min": 0.05, "dt_max": 0.5}]
)
def test_every_h3_knob_changes_the_output(changed: dict, gen: torch.Generator) -> None:
    u = torch.randn(2, 16, WIDTH, generator=gen)
    torch.manual_seed(0)
    a = H3(WIDTH, 0, 2, l_max=L_MAX, d_state=8)
    torch.manual_seed(0)
    b = H3(WIDTH, 0, 2, l_max=L_MAX, **{"d_state": 8, **changed})
    with torch.no_grad():
        b_state = b.state_dict()
        for key, value in a.state_dict().items():
            if b_state[key].shape == value.shape and key != "ssm.log_dt":
                b_state[key] = value
        b.load_state_dict(b_state)
        assert not torch.allclose(a(u), b(u), atol=1e-6)


# --- sparse attention ------------------------------------------------------------------
def test_repeated_bigram_mask_by_hand() -> None:
    #        position: 0  1  2  3  4  5
    ids = torch.tensor([[5, 1, 5, 5, 1, 2]])
    mask = repeated_bigram_mask(ids)[0]
    allowed = {t: torch.nonzero(mask[t]).flatten().tolist() for t in range(6)}
    # t=2 (5): 5 at s=0 -> key 1. t=3 (5): 5 at s=0, 2 -> keys 1, 3 (itself: x_2 = x_3).
    # t=4 (1): 1 at s=1 -> key 2. Tokens never seen before (t=0, 1, 5) get nothing.
    assert allowed == {0: [], 1: [], 2: [1], 3: [1, 3], 4: [2], 5: []}


def test_sparse_attention_reads_what_followed_the_earlier_occurrence(gen: torch.Generator) -> None:
    mixer = make("sparse_attention", {"num_heads": 1})
    ids = torch.tensor([[3, 4, 0, 6, 3, 2]])
    u = torch.randn(1, 6, WIDTH, generator=gen)
    with torch.no_grad():
        y = mixer(u, ids)
        v = mixer.c_attn(u)[..., 2 * WIDTH :]
        # position 4 (token 3) has one allowed key, position 1: its value, projected
        assert torch.allclose(y[0, 4], mixer.c_proj(v[0, 1]), atol=1e-5)
        # positions with no earlier occurrence output zero (only c_proj's bias remains)
        for t in (0, 1, 2, 3, 5):
            assert torch.allclose(y[0, t], mixer.c_proj.bias, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    batch=st.integers(1, 3),
    length=st.integers(1, 40),
    vocab=st.integers(1, 12),
    heads=st.sampled_from([1, 2]),
    block=st.sampled_from([1, 3, 8, 64]),
    seed=st.integers(0, 2**31 - 1),
)
def test_sparse_attention_by_token_equals_the_dense_masked_one(
    batch: int, length: int, vocab: int, heads: int, block: int, seed: int
) -> None:
    """The windowed path over positions sorted by token against the dense mask that
    defines the pattern: the same outputs and gradients (small vocabularies: many
    repeats; blocks of 1 .. 64 queries)."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, length), generator=gen)
    torch.manual_seed(seed)
    mixer = SparseAttention(WIDTH, 0, 1, l_max=64, num_heads=heads).double()
    u = torch.randn(batch, length, WIDTH, generator=gen, dtype=torch.float64, requires_grad=True)
    results = []
    for attend in ("by token", "dense"):
        q, k, v = (mixer._heads(x) for x in mixer.c_attn(u).split(WIDTH, dim=-1))
        if attend == "by token":
            old_block = sparse_attention.SORTED_BLOCK
            sparse_attention.SORTED_BLOCK = block
            try:
                y = mixer._attend_by_token(q, k, v, ids)
            finally:
                sparse_attention.SORTED_BLOCK = old_block
        else:
            y = mixer._attend(q, k, v, repeated_bigram_mask(ids))
        y.square().sum().backward()
        results.append([y.detach(), u.grad.clone(), mixer.c_attn.weight.grad.clone()])
        u.grad = mixer.c_attn.weight.grad = mixer.c_proj.weight.grad = None
        mixer.zero_grad()
    for got, want in zip(*results, strict=True):
        assert torch.allclose(got, want, atol=1e-10)


def test_block_refuses_a_token_mixer_without_ids() -> None:
    block = Block(SparseAttention(WIDTH, 0, 1, l_max=8), 32, d_in=WIDTH)
    with pytest.raises(ValueError, match="sparse_attention.*token ids"):
        block(torch.zeros(1, 4, WIDTH))


# --- in a model ------------------------------------------------------------------------
HYBRID = "base_conv*2,sparse_attention,base_conv"


@pytest.mark.parametrize(
    "spec", ["h3*2", "rwkv*2", "mamba*2", "based,sliding_window", "delta_net*2", HYBRID]
)
def test_zoo_models_decode_like_forward_and_train(spec: str, scramble) -> None:
    torch.manual_seed(0)
    model = build_model(spec, scale="smoke", vocab_size=VOCAB, max_seq_len=32)
    gen = torch.Generator().manual_seed(3)
    ids = torch.randint(0, VOCAB, (3, 24), generator=gen)
    logits = model(ids)
    loss = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, VOCAB), ids[:, 1:].flatten()
    )
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    scramble(model, seed=1, std=0.2).eval()
    with torch.no_grad():
        full = model(ids)
        prompt, state = model.prefill(ids[:, :5])
        outs = [prompt]
        for t in range(5, 24):
            step, state = model.step(ids[:, t], state)
            outs.append(step.unsqueeze(1))
    assert torch.allclose(torch.cat(outs, 1), full, atol=1e-4 * (1 + full.abs().max().item()))


def test_hybrid_model_reads_the_token_ids(scramble) -> None:
    """The model hands its input ids to the sparse layer (and only to it)."""
    torch.manual_seed(0)
    model = scramble(build_model(HYBRID, scale="smoke", vocab_size=VOCAB, max_seq_len=32), seed=2)
    layer = model.blocks[2].mixer
    seen = {}
    layer.register_forward_hook(lambda m, args, out: seen.update(ids=args[1]))
    ids = torch.tensor([[1, 2, 3, 1, 4]])
    with torch.no_grad():
        model(ids)
    assert torch.equal(seen["ids"], ids)


def test_zoo_config_errors_name_the_problem() -> None:
    with pytest.raises(SpecError, match="d_state must be an even"):
        H3.check_config(16, {"d_state": 5}, where="layer 1")
    with pytest.raises(SpecError, match="channel_mix_ratio"):
        RWKV.check_config(16, {"channel_mix_ratio": -1}, where="layer 0")
    with pytest.raises(SpecError, match="not divisible"):
        SparseAttention.check_config(18, {"num_heads": 4}, where="layer 3")


def test_h3_ssm_dynamics_are_not_weight_decayed() -> None:
    model = build_model("h3*2", scale="smoke", vocab_size=VOCAB, max_seq_len=16)
    decay, _ = model.param_groups(0.1)
    decayed = {id(p) for p in decay["params"]}
    ssm = model.blocks[0].mixer.ssm
    assert id(ssm.c) in decayed  # C is a matrix like any other
    assert not {id(ssm.log_a_real), id(ssm.a_imag)} & decayed
    assert math.isfinite(model.state_size(16))


# --- Mamba -----------------------------------------------------------------------------
def test_mamba_scan_chunk_does_not_change_the_output(gen: torch.Generator) -> None:
    u = torch.randn(2, 37, WIDTH, generator=gen)
    with torch.no_grad():
        outs = [make("mamba", {"scan_chunk": c})(u) for c in (1, 5, 64)]
    assert torch.allclose(outs[0], outs[1], atol=1e-5) and torch.allclose(
        outs[0], outs[2], atol=1e-5
    )


def test_mamba_state_size_is_constant_in_length() -> None:
    mamba = make("mamba", {"d_state": 8, "expand": 2})
    assert mamba.state_size(10) == mamba.state_size(10_000) == 2 * WIDTH * (8 + 3)


@pytest.mark.skipif(
    not torch.cuda.is_available() or importlib.util.find_spec("mamba_ssm") is None,
    reason="needs mamba_ssm's CUDA kernels on a GPU",
)
def test_mamba_kernel_path_equals_the_pure_pytorch_scan(gen: torch.Generator) -> None:
    from lolameme.models.mixers import mamba as mamba_module

    assert mamba_module.selective_scan_fn is not None
    fast = make("mamba", {}).cuda()
    slow = make("mamba", {"use_kernel": False}).cuda()
    u = torch.randn(2, 48, WIDTH, generator=gen).cuda().requires_grad_()
    y_fast, y_slow = fast(u), slow(u)
    assert torch.allclose(y_fast, y_slow, atol=1e-4)
    (g_fast,) = torch.autograd.grad(y_fast.square().sum(), u)
    (g_slow,) = torch.autograd.grad(y_slow.square().sum(), u)
    assert torch.allclose(g_fast, g_slow, atol=1e-3)


# --- DeltaNet --------------------------------------------------------------------------
def delta_rule_loop(q, k, v, beta):
    """The defining recurrence, one position at a time."""
    s = torch.zeros(*k.shape[:2], k.shape[-1], v.shape[-1], dtype=k.dtype)
    outs = []
    for t in range(k.shape[2]):
        kt, vt = k[:, :, t].unsqueeze(-1), v[:, :, t].unsqueeze(-2)
        s = s + beta[:, :, t, None, None] * kt @ (vt - kt.transpose(-1, -2) @ s)
        outs.append((q[:, :, t].unsqueeze(-2) @ s)[:, :, 0])
    return torch.stack(outs, 2), s


@pytest.mark.parametrize("chunk", [1, 4, 7, 64])
def test_delta_rule_chunked_equals_the_recurrence(chunk: int, gen: torch.Generator) -> None:
    from lolameme.models.mixers.delta_net import delta_rule_chunked

    shape = (2, 3, 30)
    q = torch.randn(*shape, 5, generator=gen, dtype=torch.float64)
    k = torch.nn.functional.normalize(
        torch.randn(*shape, 5, generator=gen, dtype=torch.float64), dim=-1
    )
    v = torch.randn(*shape, 4, generator=gen, dtype=torch.float64)
    beta = torch.rand(*shape, generator=gen, dtype=torch.float64)
    out, s = delta_rule_chunked(q, k, v, beta, chunk)
    want, want_s = delta_rule_loop(q, k, v, beta)
    assert torch.allclose(out, want, atol=1e-10) and torch.allclose(s, want_s, atol=1e-10)


def test_delta_rule_overwrites_a_key() -> None:
    """beta = 1 and the same unit key twice: the second value replaces the first
    (plain linear attention would return their sum)."""
    from lolameme.models.mixers.delta_net import delta_rule_chunked

    k = torch.tensor([1.0, 0.0]).expand(1, 1, 2, 2)
    v = torch.tensor([[3.0], [5.0]]).view(1, 1, 2, 1)
    out, _ = delta_rule_chunked(k, k, v, torch.ones(1, 1, 2), chunk=2)
    assert out[0, 0, :, 0].tolist() == [3.0, 5.0]
