"""Scales: the widths, depths and mixer settings behind each preset name.

``paper`` reproduces the LOLAMEME paper's models: GPT-2 small (12 layers x 768,
12 heads, MLP 3072, about 124M parameters with the 50257-token GPT-2 vocabulary) and
Hyena-153M (18 layers x 864, MLP 1728). THEX-n swaps Hyena layer n for a 768-wide
GPT-2 block. ``tiny`` keeps every layer count (so ``thex-9`` .. ``thex-17`` mean the
same thing) and divides every width by 12, which also keeps the paper's 768/864
attention-to-Hyena width ratio; it trains on a laptop CPU in minutes. ``small``
divides the widths by 3 (GPT-2 9.7M parameters besides the embedding, Hyena 12.5M) and is sized for
one GPU (docs/performance.md). ``smoke`` divides the widths by 48 and exists for fast
tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from lolameme.models.config import SpecError


@dataclass(frozen=True)
class LayerDefaults:
    """Width, MLP width and mixer keyword arguments of one mixer kind at one scale."""

    width: int
    mlp_width: int
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def at_width(self, width: int) -> tuple[int, int]:
        """(width, MLP width) for a layer resized with ``@width``: the MLP ratio is kept."""
        return width, max(1, round(width * self.mlp_width / self.width))


@dataclass(frozen=True)
class Scale:
    """One size of every preset.

    ``gpt2_layers`` is the depth of ``gpt2``; ``conv_layers`` the depth of ``hyena``,
    ``base_conv`` and ``thex-N``. ``mixers`` gives each mixer kind its defaults;
    a mixer without an entry (a newly registered one) gets ``fallback``.
    """

    name: str
    description: str
    gpt2_layers: int
    conv_layers: int
    mixers: Mapping[str, LayerDefaults]
    fallback: LayerDefaults

    def defaults(self, mixer: str) -> LayerDefaults:
        return self.mixers.get(mixer, self.fallback)


def _scale(
    name: str,
    description: str,
    *,
    attention: tuple[int, int, int],
    conv: tuple[int, int],
    filter_emb_dim: int,
    filter_order: int,
    filter_frequency: float = 14.0,
) -> Scale:
    att_width, att_mlp, heads = attention
    conv_width, conv_mlp = conv
    hyena_kwargs = {
        "filter_emb_dim": filter_emb_dim,  # positional features fed to the filter MLP
        "filter_order": filter_order,  # width of the filter MLP
        "filter_frequency": filter_frequency,  # sine activation frequency of the filter MLP
        "short_kernel": 3,
    }
    mixers = {
        "attention": LayerDefaults(att_width, att_mlp, MappingProxyType({"num_heads": heads})),
        "hyena": LayerDefaults(conv_width, conv_mlp, MappingProxyType(hyena_kwargs)),
        "base_conv": LayerDefaults(conv_width, conv_mlp, MappingProxyType({})),
    }
    return Scale(
        name=name,
        description=description,
        gpt2_layers=12,
        conv_layers=18,
        mixers=MappingProxyType(mixers),
        fallback=LayerDefaults(conv_width, conv_mlp),
    )


MODEL_SCALES: Mapping[str, Scale] = MappingProxyType(
    {
        "paper": _scale(
            "paper",
            "the paper's models: GPT-2 124M, Hyena 153M, THEX-n",
            attention=(768, 3072, 12),
            conv=(864, 1728),
            filter_emb_dim=33,
            filter_order=64,
        ),
        "small": _scale(
            "small",
            "paper depths, widths / 3: one GPU runs a whole grid in about an hour",
            attention=(256, 1024, 4),
            conv=(288, 576),
            filter_emb_dim=17,
            filter_order=64,
        ),
        "tiny": _scale(
            "tiny",
            "paper depths, widths / 12: trains on a laptop CPU in minutes",
            attention=(64, 256, 4),
            conv=(72, 144),
            filter_emb_dim=9,
            filter_order=32,
            # calibration round 4: at width 72 and 32-64 positions, frequency 14 (the
            # Hyena language models') gave EM 0.39 (0.10) / 0.40 (0.17) over 3 seeds,
            # frequency 1 0.50 (0.02) / 0.71 (0.01) (docs/results/calibration.md)
            filter_frequency=1.0,
        ),
        "smoke": _scale(
            "smoke",
            "paper depths, widths / 48: for fast tests",
            attention=(16, 64, 2),
            conv=(18, 36),
            filter_emb_dim=5,
            filter_order=16,
        ),
    }
)


def get_scale(name: str) -> Scale:
    """Look a scale up by name, with an error that lists the valid names."""
    scale = MODEL_SCALES.get(name.strip().lower())
    if scale is None:
        raise SpecError(f"unknown scale '{name}' (valid: {', '.join(MODEL_SCALES)})")
    return scale


def list_presets(scale: str = "tiny") -> list[str]:
    """Every preset name valid at ``scale``: gpt2, hyena, base_conv, thex-0 .. thex-(n-1)."""
    conv_layers = get_scale(scale).conv_layers
    return ["gpt2", "hyena", "base_conv", *(f"thex-{n}" for n in range(conv_layers))]
