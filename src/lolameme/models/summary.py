"""Plain-data descriptions of presets and models, for ``lolameme models``.

Models are built on the ``meta`` device here: shapes and counts without allocating
or initialising a single weight, so listing the paper-scale presets is instant.
"""

from __future__ import annotations

from typing import Any

import torch

from lolameme.models.config import LayerConfig
from lolameme.models.external import ExternalModel
from lolameme.models.model import LanguageModel, build_model
from lolameme.models.presets import list_presets


def explicit_pattern(layers: list[LayerConfig]) -> str:
    """The layer pattern with every width written out: ``hyena@864*9,attention@768,...``."""
    runs: list[list[Any]] = []
    for layer in layers:
        key = f"{layer.mixer}@{layer.width}"
        if runs and runs[-1][0] == key:
            runs[-1][1] += 1
        else:
            runs.append([key, 1])
    return ",".join(key if n == 1 else f"{key}*{n}" for key, n in runs)


def human_count(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _meta_model(
    spec: str, scale: str, vocab_size: int, max_seq_len: int
) -> LanguageModel | ExternalModel:
    with torch.device("meta"):
        return build_model(spec, scale=scale, vocab_size=vocab_size, max_seq_len=max_seq_len)


def model_row(model: LanguageModel) -> dict[str, Any]:
    """One line about a model: spec, depth, pattern, parameters, state size."""
    return {
        "spec": model.spec,
        "scale": model.config.scale,
        "layers": len(model.blocks),
        "pattern": explicit_pattern(model.config.layers),
        "parameters": model.num_parameters(),
        "state_size": model.state_size(),
        "learned_positions": model.learned_positions,
    }


def describe_presets(scale: str, vocab_size: int, max_seq_len: int) -> list[dict[str, Any]]:
    """A :func:`model_row` for every preset at ``scale``."""
    return [
        model_row(_meta_model(name, scale, vocab_size, max_seq_len)) for name in list_presets(scale)
    ]


def describe_spec(spec: str, scale: str, vocab_size: int, max_seq_len: int) -> dict[str, Any]:
    """A model row plus one row per layer (mixer, widths, adapter, parameters, state)."""
    model = _meta_model(spec, scale, vocab_size, max_seq_len)
    if isinstance(model, ExternalModel):  # a builder's model: no layers we know of
        return {
            "spec": model.spec,
            "scale": scale,
            "layers": None,
            "pattern": model.spec,
            "parameters": model.num_parameters(),
            "state_size": model.state_size(),
            "learned_positions": None,
            "embed_width": None,
            "vocab_size": vocab_size,
            "max_seq_len": max_seq_len,
            "out_adapter": "",
            "layer_rows": [],
        }
    layers = []
    for i, (block, layer) in enumerate(zip(model.blocks, model.config.layers, strict=True)):
        adapter = block.proj_in
        layers.append(
            {
                "index": i,
                "mixer": layer.mixer,
                "width": layer.width,
                "mlp_width": layer.mlp_width,
                "adapter": f"{adapter.in_features}->{adapter.out_features}" if adapter else "",
                "parameters": sum(p.numel() for p in block.parameters()),
                "state_size": block.mixer.state_size(max_seq_len),
                "kwargs": dict(layer.kwargs),
            }
        )
    row = model_row(model)
    row["embed_width"] = model.config.embed_width
    row["vocab_size"] = vocab_size
    row["max_seq_len"] = max_seq_len
    row["out_adapter"] = (
        f"{model.proj_out.in_features}->{model.proj_out.out_features}" if model.proj_out else ""
    )
    row["layer_rows"] = layers
    return row
