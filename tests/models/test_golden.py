"""Golden outputs: our mixers, loaded with a reference implementation's weights,
reproduce that implementation's outputs (tests/models/golden/, PROVENANCE.md there).

Each ``*_weights`` function below is the whole correspondence between the reference's
parameter names and ours; a test fails if a reference tensor is left unused. The golden
files were made once by golden/make_golden.py from the reference code itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from lolameme.models.mixers import (
    H3,
    BaseConv,
    Based,
    DeltaNet,
    Hyena,
    Mamba,
    Mixer,
    SlidingWindowAttention,
)

GOLDEN = Path(__file__).parent / "golden"
TOLERANCE = 1e-5


def load(name: str) -> dict:
    return torch.load(GOLDEN / f"{name}.pt", weights_only=True)


def hyena_weights(ref: dict[str, Tensor], *, safari: bool) -> dict[str, Tensor]:
    """zoology's ``Hyena`` / safari's ``HyenaOperator`` -> :class:`Hyena`.

    Safari gates the long convolution's input with block 1 of the projections and its
    output with block 0; zoology (and we) the other way round: swap the two blocks."""
    d = ref["out_proj.weight"].shape[0]

    def gates(x: Tensor) -> Tensor:
        return torch.cat([x[d : 2 * d], x[:d], x[2 * d :]]) if safari else x

    out = {
        "in_proj.weight": gates(ref.pop("in_proj.weight")),
        "in_proj.bias": gates(ref.pop("in_proj.bias")),
        "short_conv.weight": gates(ref.pop("short_filter.weight"))[:, 0],
        "short_conv.bias": gates(ref.pop("short_filter.bias")),
        "D": ref.pop("filter_fn.bias"),
        "out_proj.weight": ref.pop("out_proj.weight"),
        "out_proj.bias": ref.pop("out_proj.bias"),
    }
    for key in [k for k in ref if k.startswith("filter_fn.implicit_filter.")]:
        out[key.replace("filter_fn.implicit_filter.", "filter.mlp.")] = ref.pop(key)
    return out


def base_conv_weights(ref: dict[str, Tensor]) -> dict[str, Tensor]:
    """zoology's ``BaseConv`` (``ShortConvolution`` or ``ImplicitLongConvolution``)."""
    out = {"projection.weight": ref.pop("projection.weight")}
    out["projection.bias"] = ref.pop("projection.bias")
    if "conv.conv.weight" in ref:
        out["short_conv.weight"] = ref.pop("conv.conv.weight")[:, 0]
        out["short_conv.bias"] = ref.pop("conv.conv.bias")
    for key in [k for k in ref if k.startswith("conv.mlp.")]:
        out[key.replace("conv.mlp.", "filter.mlp.")] = ref.pop(key)
    return out


def mamba_weights(ref: dict[str, Tensor]) -> dict[str, Tensor]:
    """mamba_ssm's ``Mamba``: dt_proj's bias is our ``dt_bias``; the conv drops its group dim."""
    out = {key: ref.pop(key) for key in ("A_log", "D", "in_proj.weight", "x_proj.weight")}
    out["conv.weight"] = ref.pop("conv1d.weight")[:, 0]
    out["conv.bias"] = ref.pop("conv1d.bias")
    out["dt_proj.weight"] = ref.pop("dt_proj.weight")
    out["dt_bias"] = ref.pop("dt_proj.bias")
    out["out_proj.weight"] = ref.pop("out_proj.weight")
    return out


def h3_weights(ref: dict[str, Tensor]) -> dict[str, Tensor]:
    """zoology's ``H3`` (head_dim 1, S4D kernel with ``disc="zoh"``).

    - q, k, v projections -> the rows of ``in_proj``;
    - the shift SSM's kernel ``k[l] = sum_n B[n] C[n + l]`` (its FFT cross-correlation)
      -> the taps of our shift conv, newest first from the end, plus its skip ``ssm_k_D``
      on the newest tap; our conv's bias is 0;
    - S4D: ``B`` and ``C`` enter the kernel only as the product ``B * C`` (our ``c``).
    """
    out = {}
    for part in ("weight", "bias"):
        out[f"in_proj.{part}"] = torch.cat([ref.pop(f"{x}_proj.{part}") for x in "qkv"])
    b, c = ref.pop("ssm_k_kernel.kernel.B"), ref.pop("ssm_k_kernel.kernel.C")[0]
    n = b.shape[-1]
    taps = torch.stack([(b[:, : n - lag] * c[:, lag:]).sum(-1) for lag in range(n)], -1)
    taps[:, 0] += ref.pop("ssm_k_D")
    out["shift.weight"] = taps.flip(-1)
    out["shift.bias"] = torch.zeros(b.shape[0])
    out["ssm.log_dt"] = ref.pop("kernel.kernel.log_dt")
    out["ssm.log_a_real"] = ref.pop("kernel.kernel.inv_A_real")
    out["ssm.a_imag"] = ref.pop("kernel.kernel.A_imag")
    b_c = torch.view_as_complex(ref.pop("kernel.kernel.B").contiguous())
    c_c = torch.view_as_complex(ref.pop("kernel.kernel.C")[0].contiguous())
    out["ssm.c"] = torch.view_as_real(b_c * c_c)
    out["D"] = ref.pop("D")
    out["out_proj.weight"] = ref.pop("output_linear.weight")
    out["out_proj.bias"] = ref.pop("output_linear.bias")
    return out


def delta_net_weights(ref: dict[str, Tensor]) -> dict[str, Tensor]:
    """fla's ``DeltaNet``: its three ``ShortConvolution``s (Conv1d weights (D, 1, W), no
    bias) -> our ``convs`` (weights (D, W), bias 0); the per-head ``o_norm`` -> ours."""
    out = {key: ref.pop(key) for key in ("q_proj.weight", "k_proj.weight", "v_proj.weight")}
    out["b_proj.weight"] = ref.pop("b_proj.weight")
    for i, x in enumerate("qkv"):
        weight = ref.pop(f"{x}_conv1d.weight")[:, 0]
        out[f"convs.{i}.weight"] = weight
        out[f"convs.{i}.bias"] = torch.zeros(weight.shape[0])
    out["o_norm_weight"] = ref.pop("o_norm.weight")
    out["o_proj.weight"] = ref.pop("o_proj.weight")
    return out


def renamed(mapping: dict[str, str]) -> Callable[[dict[str, Tensor]], dict[str, Tensor]]:
    """A conversion that only renames tensors (reference name -> ours)."""
    return lambda ref: {ours: ref.pop(theirs) for theirs, ours in mapping.items()}


# name -> (build our mixer from the golden config, map the reference's weights,
#          reference tensors our mixer computes instead of loading: checked equal)
CASES: dict[str, tuple[Callable[[dict], Mixer], Callable[[dict], dict], dict[str, str]]] = {
    "zoology_hyena": (
        lambda c: Hyena(
            8, 0, 1, l_max=c["l_max"], filter_emb_dim=c["emb_dim"], filter_order=c["filter_order"]
        ),
        lambda ref: hyena_weights(ref, safari=False),
        {
            "filter_fn.pos_emb.z": "filter.pos.z",
            "filter_fn.pos_emb.t": "filter.pos.t",
            "filter_fn.modulation.deltas": "filter.modulation.deltas",
        },
    ),
    "safari_hyena_operator": (
        lambda c: Hyena(
            8, 0, 1, l_max=c["l_max"], filter_emb_dim=c["emb_dim"], filter_order=c["filter_order"]
        ),
        lambda ref: hyena_weights(ref, safari=True),
        {
            "filter_fn.pos_emb.z": "filter.pos.z",
            "filter_fn.pos_emb.t": "filter.pos.t",
            "filter_fn.modulation.deltas": "filter.modulation.deltas",
        },
    ),
    "zoology_base_conv_short": (
        lambda c: BaseConv(8, 0, 1, l_max=c["l_max"], kernel_size=c["kernel_size"]),
        base_conv_weights,
        {},
    ),
    "zoology_base_conv_long": (
        lambda c: BaseConv(8, 0, 1, l_max=c["l_max"], kernel_size=c["kernel_size"]),
        base_conv_weights,
        {"conv.pos_emb.z": "filter.pos.z"},
    ),
    "mamba": (
        # scan_chunk 4 < L = 16: the chunked scan's carry between chunks is exercised
        lambda c: Mamba(
            8,
            0,
            1,
            l_max=16,
            d_state=c["d_state"],
            d_conv=c["d_conv"],
            expand=c["expand"],
            scan_chunk=4,
        ),
        mamba_weights,
        {},
    ),
    "zoology_based": (
        lambda c: Based(
            8, 0, 1, l_max=16, feature_dim=c["feature_dim"], num_heads=c["num_heads"], chunk_size=5
        ),
        renamed({f"proj_{x}.weight": f"proj_{x}.weight" for x in "qkvo"}),
        {},
    ),
    "zoology_h3": (
        lambda c: H3(8, 0, 1, l_max=16, d_state=c["d_state"], shift_size=c["d_state"]),
        h3_weights,
        {},
    ),
    "fla_delta_net": (
        # chunk_size 5 < L = 16 (and not dividing it): the carry between chunks and the
        # padding of the last chunk are exercised; fla's layer ran its recurrence
        lambda c: DeltaNet(
            8, 0, 1, l_max=16, num_heads=c["num_heads"], conv_size=c["conv_size"], chunk_size=5
        ),
        delta_net_weights,
        {},
    ),
    "zoology_sliding_attn": (
        lambda c: SlidingWindowAttention(8, 0, 1, l_max=16, window=c["block_size"]),
        renamed(
            {
                "Wqkv.weight": "c_attn.weight",
                "Wqkv.bias": "c_attn.bias",
                "out_proj.weight": "c_proj.weight",
                "out_proj.bias": "c_proj.bias",
            }
        ),
        {},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_mixer_reproduces_the_reference_output(name: str) -> None:
    build, convert, computed = CASES[name]
    golden = load(name)
    mixer = build(golden["config"]).eval()
    ref = dict(golden["state_dict"])
    for ref_key, our_key in computed.items():  # fixed tensors we compute, not load
        assert torch.allclose(mixer.get_buffer(our_key), ref.pop(ref_key), atol=1e-6), ref_key
    mixer.load_state_dict(convert(ref))  # strict: every parameter of ours is given
    assert not ref, f"reference tensors not used: {sorted(ref)}"
    with torch.no_grad():
        got = mixer(golden["inputs"])
    assert (got - golden["output"]).abs().max() <= TOLERANCE
    # the comparison can fail: the reference's output is not trivial to match
    assert golden["output"].abs().max() > 0.1


def test_safari_weights_need_the_gate_blocks_swapped() -> None:
    """Loaded without the swap, safari's weights give a different function: the block
    order differs between safari and zoology (docs/models.md, Hyena)."""
    golden = load("safari_hyena_operator")
    build, _, computed = CASES["safari_hyena_operator"]
    mixer = build(golden["config"]).eval()
    ref = {k: v for k, v in golden["state_dict"].items() if k not in computed}
    mixer.load_state_dict(hyena_weights(ref, safari=False))
    with torch.no_grad():
        assert (mixer(golden["inputs"]) - golden["output"]).abs().max() > 1e-2


def test_delta_net_normalises_q_and_k_as_fla_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """On inputs 20x smaller (|q|^2 down to 2e-5) fla's in-kernel L2 norm,
    ``x / sqrt(|x|^2 + 1e-6)``, and ``F.normalize``'s ``x / |x|`` give outputs 1e-3
    apart; ours reproduces fla's, and with ``F.normalize`` it would not."""
    from lolameme.models.mixers import delta_net

    golden = load("fla_delta_net")
    build, convert, _ = CASES["fla_delta_net"]
    mixer = build(golden["config"]).eval()
    mixer.load_state_dict(convert(dict(golden["state_dict"])))
    with torch.no_grad():
        assert (mixer(golden["inputs"] / 20) - golden["output_small"]).abs().max() <= TOLERANCE
        monkeypatch.setattr(delta_net, "l2_normalize", lambda x: F.normalize(x, dim=-1))
        assert (mixer(golden["inputs"] / 20) - golden["output_small"]).abs().max() > 1e-4
