"""Spec strings: the names users type for an architecture.

Grammar (case and spaces ignored)::

    spec    := preset | pattern
    preset  := "gpt2" | "hyena" | "base_conv" | "thex-" N
    pattern := item ("," item)*
    item    := MIXER ["@" WIDTH] ["*" COUNT]

``thex-N`` is ``hyena`` with layer N (counted from 0 at the input) replaced by a GPT-2
attention block of the GPT-2 width. In a pattern every mixer takes its width, MLP width
and keyword arguments from the scale; ``@WIDTH`` resizes one item (its MLP keeps the
scale's ratio) and ``*COUNT`` repeats it. ``hyena*6,attention,hyena*11`` is THEX-6.
A bare mixer name that is also a preset (``hyena``, ``base_conv``) means the preset;
``hyena*1`` is a single layer.
"""

from __future__ import annotations

import re

from lolameme.models.config import InitName, LayerConfig, ModelConfig, SpecError
from lolameme.models.mixers import MIXERS
from lolameme.models.presets import Scale, get_scale

_ITEM = re.compile(r"^(?P<mixer>[a-z_][a-z0-9_]*)(?:@(?P<width>-?\d+))?(?:\*(?P<count>-?\d+))?$")
_THEX = re.compile(r"^thex-(?P<n>-?\d+)$")
_PRESETS_HELP = "presets: gpt2, hyena, base_conv, thex-N"


def _valid_names() -> str:
    return f"valid mixers: {', '.join(sorted(MIXERS))}; {_PRESETS_HELP}"


def _layer(scale: Scale, mixer: str, width: int | None = None) -> LayerConfig:
    defaults = scale.defaults(mixer)
    layer_width, mlp_width = defaults.at_width(width) if width else (defaults.width, None)
    return LayerConfig(
        mixer=mixer,
        width=layer_width,
        mlp_width=mlp_width or defaults.mlp_width,
        kwargs=dict(defaults.kwargs),
    )


def _preset(name: str, scale: Scale) -> list[LayerConfig] | None:
    """The layers of preset ``name``, or None when ``name`` is not a preset."""
    if name == "gpt2":
        return [_layer(scale, "attention")] * scale.gpt2_layers
    if name in ("hyena", "base_conv"):
        return [_layer(scale, name)] * scale.conv_layers
    match = _THEX.match(name)
    if match is None:
        return None
    n = int(match["n"])
    if not 0 <= n < scale.conv_layers:
        raise SpecError(
            f"'{name}': layer {n} is out of range; thex-N needs 0 <= N <= "
            f"{scale.conv_layers - 1} (hyena has {scale.conv_layers} layers at scale "
            f"'{scale.name}')"
        )
    layers = [_layer(scale, "hyena")] * scale.conv_layers
    layers[n] = _layer(scale, "attention")
    return layers


def _pattern(text: str, scale: Scale) -> tuple[list[LayerConfig], str]:
    """Parse a free pattern into layers and its normal form (runs merged, ``*1`` dropped)."""
    runs: list[tuple[str, int]] = []  # (item text without count, count)
    layers: list[LayerConfig] = []
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise SpecError(
                f"cannot parse '{item}' in spec '{text}': write MIXER[@WIDTH][*COUNT], "
                f"e.g. 'hyena*6,attention@768,hyena*11'; {_valid_names()}"
            )
        mixer, width, count = match["mixer"], match["width"], match["count"]
        if mixer not in MIXERS:
            raise SpecError(f"unknown mixer '{mixer}' in spec '{text}'; {_valid_names()}")
        if width is not None and int(width) <= 0:
            raise SpecError(f"width must be a positive integer, got {width} in '{item}'")
        if count is not None and int(count) <= 0:
            raise SpecError(f"count must be a positive integer, got {count} in '{item}'")
        layer = _layer(scale, mixer, int(width) if width else None)
        n = int(count) if count else 1
        layers.extend([layer] * n)
        key = f"{mixer}@{int(width)}" if width else mixer
        if runs and runs[-1][0] == key:
            runs[-1] = (key, runs[-1][1] + n)
        else:
            runs.append((key, n))
    normal = ",".join(key if n == 1 else f"{key}*{n}" for key, n in runs)
    if _preset(normal, scale) is not None:  # one layer named like a preset: keep its count
        normal += "*1"
    return layers, normal


def _dominant_width(layers: list[LayerConfig]) -> int:
    """The most common layer width (ties: the earliest); the embedding uses it."""
    counts: dict[int, int] = {}
    for layer in layers:
        counts[layer.width] = counts.get(layer.width, 0) + 1
    return max(counts, key=lambda w: counts[w])


def parse_spec(
    spec: str,
    *,
    scale: str,
    vocab_size: int,
    max_seq_len: int,
    tie_embeddings: bool = True,
    init: InitName = "gpt2",
) -> ModelConfig:
    """Expand ``spec`` at ``scale`` into the explicit per-layer :class:`ModelConfig`.

    ``tie_embeddings`` and ``init`` are model-wide, not per layer (see
    :class:`ModelConfig`); their defaults are GPT-2's.
    """
    if not isinstance(spec, str) or not re.sub(r"\s+", "", spec):
        raise SpecError(
            "empty model spec; give a preset or a pattern such as "
            f"'hyena*6,attention,hyena*11'; {_valid_names()}"
        )
    scale_ = get_scale(scale)
    text = re.sub(r"\s+", "", spec).lower()
    if vocab_size <= 0 or max_seq_len <= 0:
        raise SpecError(
            f"vocab_size and max_seq_len must be positive, got {vocab_size} and {max_seq_len}"
        )
    layers = _preset(text, scale_)
    if layers is not None:
        normal = text if not text.startswith("thex-") else f"thex-{int(text[5:])}"
    else:
        layers, normal = _pattern(text, scale_)
    return ModelConfig(
        spec=normal,
        scale=scale_.name,
        vocab_size=vocab_size,
        max_seq_len=max_seq_len,
        embed_width=_dominant_width(layers),
        layers=layers,
        tie_embeddings=tie_embeddings,
        init=init,
    )
