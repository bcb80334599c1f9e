"""Spec strings: the names users type for an architecture.

Grammar (case and spaces ignored)::

    spec    := preset | pattern
    preset  := "gpt2" | "hyena" | "base_conv" | "thex-" N
    pattern := item ("," item)*
    item    := MIXER ["@" WIDTH] ["*" COUNT]
    MIXER   := registered name | entry-point name | module.path:MixerClass
    spec    := module.path:build          (a whole model, see lolameme.models.plugins)

``thex-N`` is ``hyena`` with layer N (counted from 0 at the input) replaced by a GPT-2
attention block of the GPT-2 width. In a pattern every mixer takes its width, MLP width
and keyword arguments from the scale; ``@WIDTH`` resizes one item (its MLP keeps the
scale's ratio) and ``*COUNT`` repeats it. ``hyena*6,attention,hyena*11`` is THEX-6.
A bare mixer name that is also a preset (``hyena``, ``base_conv``) means the preset;
``hyena*1`` is a single layer. Names are case-insensitive; import paths keep their case.
A layer's keyword arguments are the scale's defaults for its mixer (none for plugins),
updated by ``mixer_kwargs[MIXER]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lolameme.models.config import (
    ExternalModelConfig,
    InitName,
    LayerConfig,
    ModelConfig,
    SpecError,
)
from lolameme.models.plugins import model_builder, resolve_mixer, valid_mixers
from lolameme.models.presets import Scale, get_scale

_ITEM = re.compile(
    r"^(?P<mixer>[A-Za-z_][\w.]*(?::[A-Za-z_][\w.]*)?)"
    r"(?:@(?P<width>-?\d+))?(?:\*(?P<count>-?\d+))?$"
)
_THEX = re.compile(r"^thex-(?P<n>-?\d+)$")
_PRESETS_HELP = "presets: gpt2, hyena, base_conv, thex-N"
MixerKwargs = Mapping[str, Mapping[str, Any]]


def _valid_names() -> str:
    return f"{valid_mixers()}; {_PRESETS_HELP}"


def _layer(
    scale: Scale,
    mixer: str,
    width: int | None = None,
    *,
    record: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> LayerConfig:
    """A layer of ``mixer`` at ``scale``; ``record`` is what the config saves as its mixer
    (an import path for plugins, default ``mixer``), ``extra`` updates its kwargs."""
    defaults = scale.defaults(mixer)
    layer_width, mlp_width = defaults.at_width(width) if width else (defaults.width, None)
    return LayerConfig(
        mixer=record or mixer,
        width=layer_width,
        mlp_width=mlp_width or defaults.mlp_width,
        kwargs={**defaults.kwargs, **(extra or {})},
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


def _pattern(text: str, scale: Scale, mixer_kwargs: MixerKwargs) -> tuple[list[LayerConfig], str]:
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
        if width is not None and int(width) <= 0:
            raise SpecError(f"width must be a positive integer, got {width} in '{item}'")
        if count is not None and int(count) <= 0:
            raise SpecError(f"count must be a positive integer, got {count} in '{item}'")
        _, record = resolve_mixer(mixer, where=f"spec '{text}'")
        extra = mixer_kwargs.get(mixer)
        layer = _layer(scale, mixer, int(width) if width else None, record=record, extra=extra)
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


def _lower_names(text: str) -> str:
    """``text`` with every registry name lower-cased; import paths keep their case."""
    return ",".join(item if ":" in item else item.lower() for item in text.split(","))


def parse_spec(
    spec: str,
    *,
    scale: str,
    vocab_size: int,
    max_seq_len: int,
    tie_embeddings: bool = True,
    init: InitName = "gpt2",
    mixer_kwargs: MixerKwargs | None = None,
) -> ModelConfig | ExternalModelConfig:
    """Expand ``spec`` at ``scale`` into the explicit per-layer :class:`ModelConfig`, or,
    when ``spec`` is the import path of a model builder, an :class:`ExternalModelConfig`.

    ``tie_embeddings`` and ``init`` are model-wide, not per layer (see
    :class:`ModelConfig`); their defaults are GPT-2's; a builder's model makes its own
    choices. ``mixer_kwargs`` maps a mixer as the spec names it to keyword arguments that
    update the scale's defaults for every layer of it.
    """
    if not isinstance(spec, str) or not re.sub(r"\s+", "", spec):
        raise SpecError(
            "empty model spec; give a preset or a pattern such as "
            f"'hyena*6,attention,hyena*11'; {_valid_names()}"
        )
    scale_ = get_scale(scale)
    text = _lower_names(re.sub(r"\s+", "", spec))
    if vocab_size <= 0 or max_seq_len <= 0:
        raise SpecError(
            f"vocab_size and max_seq_len must be positive, got {vocab_size} and {max_seq_len}"
        )
    if model_builder(text) is not None:
        if mixer_kwargs:
            raise SpecError(f"spec '{text}' is a whole-model builder: mixer_kwargs do not apply")
        return ExternalModelConfig(
            builder=text, scale=scale_.name, vocab_size=vocab_size, max_seq_len=max_seq_len
        )
    mixer_kwargs = {_lower_names(k): v for k, v in (mixer_kwargs or {}).items()}
    layers = _preset(text, scale_)
    if layers is not None:
        normal = text if not text.startswith("thex-") else f"thex-{int(text[5:])}"
        layers = [
            layer.model_copy(update={"kwargs": {**layer.kwargs, **mixer_kwargs[layer.mixer]}})
            if layer.mixer in mixer_kwargs
            else layer
            for layer in layers
        ]
        named = {layer.mixer for layer in layers}
    else:
        layers, normal = _pattern(text, scale_, mixer_kwargs)
        named = {_ITEM.match(item)["mixer"] for item in text.split(",")}  # type: ignore[index]
    unused = sorted(set(mixer_kwargs) - named)
    if unused:
        raise SpecError(
            f"mixer_kwargs for {', '.join(unused)}: spec '{normal}' has no such mixer "
            f"(it has: {', '.join(sorted(named))})"
        )
    for index, layer in enumerate(layers):  # a knob a mixer does not take fails here, early
        cls, _ = resolve_mixer(layer.mixer, where=f"spec '{normal}'")
        cls.check_config(layer.width, layer.kwargs, where=f"spec '{normal}', layer {index}")
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
