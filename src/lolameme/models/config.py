"""The explicit description a model is built from, and the error for bad specs.

A spec string (``thex-13``) at a scale (``tiny``) expands into a :class:`ModelConfig`:
one :class:`LayerConfig` per layer, with its mixer, width, MLP width and mixer
keyword arguments written out. The model is built from this config alone, so a saved
``config_dict()`` rebuilds the same architecture even if the presets change later.
"""

from __future__ import annotations

from typing import Any, Literal

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


# Weight initialisations (see LanguageModel._init_weights).
InitName = Literal["gpt2", "pytorch", "scaled"]


class ModelConfig(BaseModel):
    """Everything needed to rebuild a :class:`~lolameme.models.model.LanguageModel`.

    ``embed_width`` is the width of the token embedding, the final LayerNorm and the
    LM head; linear adapters bridge it to layers of another width.

    ``tie_embeddings`` and ``init`` default to GPT-2's choices: the LM head shares the
    token embedding, and every weight starts at N(0, 0.02) (see
    :meth:`LanguageModel._init_weights`). ``init="pytorch"`` keeps each module's own
    PyTorch initialisation instead (embeddings N(0, 1), linear layers uniform in
    +-1/sqrt(fan_in)). At tiny widths GPT-2's choices keep a 2-layer attention model on
    MQAR's plateau for thousands of steps; untied with PyTorch's init it learns the
    lookup in a few hundred (``docs/zoo.md``). ``init="scaled"`` is GPT-2's scheme with
    its standard deviation rescaled to each layer's width (0.02 at fan-in 768, larger
    below), so a narrow model does not start nearly silent.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: str
    scale: str
    vocab_size: PositiveInt
    max_seq_len: PositiveInt
    embed_width: PositiveInt
    layers: list[LayerConfig] = Field(min_length=1)
    tie_embeddings: bool = True
    init: InitName = "gpt2"


class ExternalModelConfig(BaseModel):
    """A whole model from a builder outside the package (see :mod:`lolameme.models.plugins`).

    ``builder`` is the import path of a callable ``(vocab_size, max_seq_len, scale) ->
    nn.Module``; the saved config rebuilds the model wherever that path imports. Its
    presence is what tells this config from a :class:`ModelConfig` in ``run.json``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    builder: str
    scale: str
    vocab_size: PositiveInt
    max_seq_len: PositiveInt

    @property
    def spec(self) -> str:
        return self.builder
