"""Produce the golden files of tests/models/test_golden.py from the reference code.

Not part of the package and not run by the tests: run once, by hand, against checkouts
of the reference repositories (their ``git archive`` is enough)::

    python3 tests/models/golden/make_golden.py --zoology Z --safari S --mamba M --fla F

where Z holds zoology's ``zoology/`` package, S safari's ``src/``, M mamba's
``mamba_ssm/`` and F fla's ``fla/`` and ``tests/modules/test_conv.py``. The references
need ``einops`` and ``opt_einsum`` (install them in a throw-away environment; lolameme
does not depend on them). Missing optional modules of the references (wandb, hydra,
triton, CUDA kernels) are replaced by empty stand-ins before import; where a
reference's own pure-PyTorch function stands in for a kernel, it is read from the
reference's file at run time. No reference code is copied here.

Each file holds ``state_dict`` (the reference module's own names), ``inputs`` (B, L, D)
and ``output``, from seeded weights scrambled to N(0, 0.3^2) (a default init makes
outputs nearly constant, which would hide a mismatch) and ``config``.
PROVENANCE.md records which commit, file and class produced each.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import sys
import types
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
WIDTH, LENGTH, BATCH = 8, 16, 2


def stub(name: str, **attrs: object) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def load(name: str, path: Path) -> types.ModuleType:
    """Import ``path`` as module ``name`` (its package must already be importable)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def definitions(path: Path, names: set[str], namespace: dict) -> dict:
    """Execute only the top-level definitions ``names`` (functions, constants) of the
    file at ``path`` in ``namespace`` and return it: a reference's pure-PyTorch function
    without its module's other imports (triton), which would fail here."""
    tree = ast.parse(path.read_text(), filename=str(path))
    picked = [
        node
        for node in tree.body
        if (isinstance(node, ast.FunctionDef) and node.name in names)
        or (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id in names for t in node.targets)
        )
    ]
    found = {n.name if isinstance(n, ast.FunctionDef) else n.targets[0].id for n in picked}
    assert found == names, f"{path}: not found: {sorted(names - found)}"
    exec(compile(ast.Module(body=picked, type_ignores=[]), str(path), "exec"), namespace)
    return namespace


def scramble(module: nn.Module, seed: int) -> None:
    """Trainable parameters to N(0, 0.3^2); fixed ones (positional features) untouched."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)


def save(
    name: str, module: nn.Module, config: dict, *, seed: int, inputs=None, call=None
) -> torch.Tensor:
    """Scramble, run (``call(module, u)``, by default ``module(u)``), write the file."""
    scramble(module, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    u = torch.randn(BATCH, LENGTH, WIDTH, generator=gen) if inputs is None else inputs
    with torch.no_grad():
        out = module(u) if call is None else call(module, u)
    blob = {
        "state_dict": {k: v.clone() for k, v in module.state_dict().items()},
        "inputs": u,
        "output": out,
        "config": config,
    }
    torch.save(blob, HERE / f"{name}.pt")
    print(f"{name}: |output| max {out.abs().max():.3g}")
    return out


def zoology_goldens(root: Path) -> None:
    sys.path.insert(0, str(root))
    stub("wandb")  # zoology.utils imports it for its experiment tooling
    from zoology.mixers.base_conv import BaseConv
    from zoology.mixers.based import Based
    from zoology.mixers.h3 import H3
    from zoology.mixers.hyena import Hyena
    from zoology.mixers.slide_attn import SlidingAttn

    torch.manual_seed(0)
    config = {"l_max": LENGTH, "filter_order": 16, "emb_dim": 5, "w": 14.0}
    hyena = Hyena(WIDTH, **config)
    hyena.filter_fn.pos_emb.z.requires_grad_(False)  # trained at lr 1e-5 there, fixed here
    save("zoology_hyena", hyena, config, seed=10)
    for kernel, name in ((3, "short"), (-1, "long")):
        torch.manual_seed(0)
        config = {"l_max": LENGTH, "kernel_size": kernel}
        save(f"zoology_base_conv_{name}", BaseConv(WIDTH, **config), config, seed=20)
    torch.manual_seed(0)
    config = {
        "l_max": LENGTH,
        "feature_dim": 4,
        "num_heads": 2,
        "num_key_value_heads": 2,
        "feature_name": "taylor_exp",
        "train_view": "linear",
    }
    save("zoology_based", Based(WIDTH, **config), config, seed=30)
    torch.manual_seed(0)
    # zoology's SSKernelDiag discretises with "bilinear" unless told; lolameme's S4D (and
    # the S4D paper's default) is zero-order hold, so the golden H3 asks for "zoh"
    config = {"d_state": 4, "l_max": LENGTH, "kernel_args": {"disc": "zoh"}}
    save("zoology_h3", H3(WIDTH, **config), config, seed=33)
    torch.manual_seed(0)
    config = {"block_size": 5}
    save("zoology_sliding_attn", SlidingAttn(WIDTH, **config), config, seed=35)


def safari_goldens(root: Path) -> None:
    """safari's HyenaOperator, with stand-ins for its training utilities."""

    class OptimModule(nn.Module):  # the two behaviours the operator relies on
        def register(self, name: str, tensor: torch.Tensor, lr: float | None = None) -> None:
            if lr == 0.0:
                self.register_buffer(name, tensor)
            else:
                self.register_parameter(name, nn.Parameter(tensor))

    def auto_assign_attrs(obj: object, **kwargs: object) -> None:
        for key, value in kwargs.items():
            setattr(obj, key, value)

    holder: dict[str, type] = {}
    for name in ("src", "src.utils", "src.models", "src.models.sequence", "src.ops"):
        stub(name, __path__=[])
    stub("src.ops.fftconv")  # its fused fftconv is optional (ImportError is caught)
    stub("src.utils.registry", layer={})
    stub("src.utils.train", OptimModule=OptimModule)
    stub(
        "src.utils.config",
        instantiate=lambda registry, name, partial: holder["filter"],
        auto_assign_attrs=auto_assign_attrs,
    )
    stub("src.models.nn", Activation=lambda name: nn.Identity())
    module = load("src.models.sequence.hyena", root / "src/models/sequence/hyena.py")
    holder["filter"] = module.HyenaFilter
    torch.manual_seed(0)
    config = {"l_max": LENGTH, "order": 2, "filter_order": 16, "emb_dim": 5, "w": 14.0}
    operator = module.HyenaOperator(WIDTH, **config)
    operator.filter_fn.pos_emb.z.requires_grad_(False)  # trained at lr 1e-5 there, fixed here
    save("safari_hyena_operator", operator, config, seed=40)


def mamba_goldens(root: Path) -> None:
    """mamba_ssm's Mamba with ``selective_scan_ref`` (its pure-PyTorch reference scan)
    in place of the CUDA kernel; causal_conv1d absent, so its slow path runs."""
    stub("mamba_ssm", __path__=[str(root / "mamba_ssm")])
    stub("mamba_ssm.ops", __path__=[])
    stub("mamba_ssm.ops.triton", __path__=[])
    stub("mamba_ssm.ops.triton.layer_norm", _layer_norm_fwd=None)
    stub("mamba_ssm.modules", __path__=[])
    load("mamba_ssm.utils.torch", root / "mamba_ssm/utils/torch.py")
    scan = load(
        "mamba_ssm.ops.selective_scan_interface",
        root / "mamba_ssm/ops/selective_scan_interface.py",
    )
    simple = load("mamba_ssm.modules.mamba_simple", root / "mamba_ssm/modules/mamba_simple.py")
    simple.selective_scan_fn = scan.selective_scan_ref
    torch.manual_seed(0)
    config = {"d_state": 4, "d_conv": 4, "expand": 2, "dt_rank": "auto", "use_fast_path": False}
    mamba = simple.Mamba(WIDTH, **config)
    save("mamba", mamba, config, seed=50)


def fla_goldens(root: Path) -> None:
    """fla's ``DeltaNet`` layer (``fla/layers/delta_net.py``, loaded as is) with fla's
    own pure-PyTorch references in place of its triton kernels:

    - the delta rule: ``delta_rule_recurrence`` (``fla/ops/delta_rule/naive.py``), the
      loop fla checks its kernels against, behind the kernels' calling convention
      ((B, T, H, D) layout, scale 1/sqrt(d_k), q and k L2-normalised inside the kernel
      as ``l2norm_fwd`` computes it, ``x / sqrt(sum x^2 + 1e-6)``);
    - ``ShortConvolution`` (``fla/modules/conv/short_conv.py``, loaded as is) with
      ``causal_conv1d_ref_torch`` (fla's ``tests/modules/test_conv.py``) as its
      ``causal_conv1d``;
    - ``RMSNorm`` as a module around ``rms_norm_ref`` (``fla/modules/layernorm.py``);
    - the padding and cache helpers of ``fla/layers/utils.py`` (without a mask or a
      cache they pass the input through).

    The configuration is zoology's MQAR one (``add_delta_net`` in
    ``zoology/experiments/models_repo.py``): 2 heads, beta, no gate, short
    convolutions of 4; fla's defaults for the rest.
    """
    from einops import rearrange

    fla = root / "fla"
    naive = definitions(
        fla / "ops/delta_rule/naive.py",
        {"delta_rule_recurrence", "delta_rule_chunkwise"},
        {"torch": torch, "rearrange": rearrange},
    )
    conv_ref = definitions(
        root / "tests/modules/test_conv.py",
        {"_CONV_REF_FP32_DTYPES", "_conv_ref_compute_dtype", "causal_conv1d_ref_torch"},
        {"torch": torch, "F": F},
    )["causal_conv1d_ref_torch"]
    norms = definitions(fla / "modules/layernorm.py", {"rms_norm_ref"}, {"torch": torch})
    rms_norm_ref = norms["rms_norm_ref"]
    layer_utils = {
        "_LAYER_IDX_REQUIRED_MSG",
        "require_cache_layer_idx",
        "get_layer_cache",
        "update_layer_cache",
        "unpad_hidden_states",
        "repad_hidden_states",
    }
    utils = definitions(fla / "layers/utils.py", layer_utils, {"torch": torch})

    def causal_conv1d(x, weight, bias=None, activation=None, **kwargs):
        """fla's ``causal_conv1d`` interface ((B, T, D), weight (D, W)) on the reference."""
        assert kwargs.get("initial_state") is None and not kwargs.get("output_final_state")
        out = conv_ref(x.transpose(1, 2), weight, bias, activation=activation)
        return out.transpose(1, 2), None

    def delta_rule(
        q,
        k,
        v,
        beta,
        scale=None,
        initial_state=None,
        output_final_state=False,
        use_qk_l2norm_in_kernel=False,
        cu_seqlens=None,
        chunk_size=None,
    ):
        """fla's kernel interface ((B, T, H, D)) on ``delta_rule_recurrence`` (or, given
        ``chunk_size``, ``delta_rule_chunkwise``); both scale q by 1/sqrt(d_k) themselves."""
        assert scale in (None, q.shape[-1] ** -0.5) and cu_seqlens is None
        if use_qk_l2norm_in_kernel:  # l2norm_fwd: x * rsqrt(sum x^2 + eps), eps 1e-6
            q, k = (x * torch.rsqrt(x.square().sum(-1, keepdim=True) + 1e-6) for x in (q, k))
        q, k, v, beta = (x.transpose(1, 2) for x in (q, k, v, beta))
        if chunk_size is None:
            recurrence = naive["delta_rule_recurrence"]
            o, s = recurrence(q, k, v, beta, initial_state, output_final_state)
        else:
            assert initial_state is None
            o, s = naive["delta_rule_chunkwise"](q, k, v, beta, chunk_size=chunk_size)
        return o.transpose(1, 2), s

    class RMSNorm(nn.Module):
        """fla's ``RMSNorm`` module (a weight of ones, no bias) on ``rms_norm_ref``."""

        def __init__(self, hidden_size, eps=1e-5, dtype=None, **kwargs):
            super().__init__()
            assert not kwargs.get("bias") and kwargs.get("elementwise_affine", True)
            self.eps, self.bias = eps, None
            self.weight = nn.Parameter(torch.ones(hidden_size, dtype=dtype))

        def forward(self, x):
            return rms_norm_ref(x, self.weight, self.bias, eps=self.eps, upcast=True)

    stub("fla", __path__=[str(fla)])
    stub("fla.layers", __path__=[])
    stub("fla.layers.utils", **{name: utils[name] for name in layer_utils})
    stub("fla.modules", __path__=[], RMSNorm=RMSNorm, FusedRMSNormGated=None)
    stub("fla.modules.conv", __path__=[])
    stub("fla.modules.conv.causal_conv1d", causal_conv1d=causal_conv1d)
    short_conv = load("fla.modules.conv.short_conv", fla / "modules/conv/short_conv.py")
    sys.modules["fla.modules"].ShortConvolution = short_conv.ShortConvolution
    stub("fla.ops", __path__=[])
    stub("fla.ops.delta_rule", chunk_delta_rule=delta_rule, fused_recurrent_delta_rule=delta_rule)
    layer = load("fla.layers.delta_net", fla / "layers/delta_net.py")
    torch.manual_seed(0)
    config = {
        "num_heads": 2,
        "use_beta": True,
        "use_gate": False,
        "use_short_conv": True,
        "conv_size": 4,
    }
    delta_net = layer.DeltaNet(d_model=WIDTH, **config)
    # L = 16 <= 64: the layer takes its fused_recurrent path (the recurrence here)
    out = save("fla_delta_net", delta_net, config, seed=60, call=lambda m, u: m(u)[0])

    # and on inputs 20x smaller, where the L2 norm's eps shows (|q|^2 near 1e-5)
    blob = torch.load(HERE / "fla_delta_net.pt", weights_only=True)
    u = blob["inputs"]
    with torch.no_grad():
        blob["output_small"] = delta_net(u / 20)[0]
    torch.save(blob, HERE / "fla_delta_net.pt")

    # the layer's chunk path (L > 64) on fla's chunkwise reference: the same function
    layer.fused_recurrent_delta_rule = lambda **kw: delta_rule(**kw, chunk_size=8)
    with torch.no_grad():
        gap = (delta_net(u)[0] - out).abs().max()
    print(f"fla_delta_net: fla's chunkwise reference vs its recurrence: {gap:.2g}")
    assert gap < 1e-5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoology", type=Path)
    parser.add_argument("--safari", type=Path)
    parser.add_argument("--mamba", type=Path)
    parser.add_argument("--fla", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.zoology:
        zoology_goldens(args.zoology)
    if args.safari:
        safari_goldens(args.safari)
    if args.mamba:
        mamba_goldens(args.mamba)
    if args.fla:
        fla_goldens(args.fla)


if __name__ == "__main__":
    main()
