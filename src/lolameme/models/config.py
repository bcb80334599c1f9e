"""The explicit description a model is built from, and the error for bad specs.

A spec string (``thex-13``) at a scale (``tiny``) expands into a :class:`ModelConfig`:
one :class:`LayerConfig` per layer, with its mixer, width, MLP width and mixer
keyword arguments written out. The model is built from this config alone, so a saved
``config_dict()`` rebuilds the same architecture even if the presets change later.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from lolameme.errors import LolamemeError


class SpecError(LolamemeError):
    """A model spec, scale or layer description cannot be turned into a model."""


class LayerConfig(BaseModel):
    """One layer: a sequence mixer of ``width`` channels followed by an MLP."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mixer: str
    width: PositiveInt
    mlp_width: PositiveInt
    kwargs: dict[str, Any] = Field(default_factory=dict)


class ModelConfig(BaseModel):
    """Everything needed to rebuild a :class:`~lolameme.models.model.LanguageModel`.

    ``embed_width`` is the width of the token embedding, the final LayerNorm and the
    tied LM head; linear adapters bridge it to layers of another width.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: str
    scale: str
    vocab_size: PositiveInt
    max_seq_len: PositiveInt
    embed_width: PositiveInt
    layers: list[LayerConfig] = Field(min_length=1)
