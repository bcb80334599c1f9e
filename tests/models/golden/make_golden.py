"""Produce the golden files of tests/models/test_golden.py from the reference code.

Not part of the package and not run by the tests: run once, by hand, against checkouts
of the reference repositories (their ``git archive`` is enough)::

    python3 tests/models/golden/make_golden.py --zoology Z --safari S --mamba M

where Z holds zoology's ``zoology/`` package, S safari's ``src/`` and M mamba's
``mamba_ssm/``. The references need ``einops`` and ``opt_einsum`` (install them in a
throw-away environment; lolameme does not depend on them). Missing optional modules of
the references (wandb, hydra, triton, CUDA kernels) are replaced by empty stand-ins
before import; no reference code is copied here.

Each file holds ``state_dict`` (the reference module's own names), ``inputs`` (B, L, D)
and ``output``, from seeded weights scrambled to N(0, 0.3^2) (a default init makes
outputs nearly constant, which would hide a mismatch) and ``config``.
PROVENANCE.md records which commit, file and class produced each.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import types
from pathlib import Path

import torch
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


def scramble(module: nn.Module, seed: int) -> None:
    """Trainable parameters to N(0, 0.3^2); fixed ones (positional features) untouched."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)


def save(name: str, module: nn.Module, config: dict, *, seed: int, inputs=None) -> None:
    scramble(module, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    u = torch.randn(BATCH, LENGTH, WIDTH, generator=gen) if inputs is None else inputs
    with torch.no_grad():
        out = module(u)
    blob = {
        "state_dict": {k: v.clone() for k, v in module.state_dict().items()},
        "inputs": u,
        "output": out,
        "config": config,
    }
    torch.save(blob, HERE / f"{name}.pt")
    print(f"{name}: |output| max {out.abs().max():.3g}")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoology", type=Path)
    parser.add_argument("--safari", type=Path)
    parser.add_argument("--mamba", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.zoology:
        zoology_goldens(args.zoology)
    if args.safari:
        safari_goldens(args.safari)
    if args.mamba:
        mamba_goldens(args.mamba)


if __name__ == "__main__":
    main()
