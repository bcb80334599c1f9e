"""The model zoo: GPT-2, Hyena, BaseConv, THEX-n and any layer pattern of mixers.

    build_model("thex-13", scale="tiny", vocab_size=512, max_seq_len=256)

A model is a list of blocks; a block is a sequence mixer (registered by name in
:data:`MIXERS`) followed by an MLP. See ``docs/models.md``.
"""

from __future__ import annotations

from lolameme.models.config import LayerConfig, ModelConfig, SpecError
from lolameme.models.mixers import MIXERS, Mixer
from lolameme.models.model import DecodeState, LanguageModel, build_model
from lolameme.models.presets import SCALES, get_scale, list_presets
from lolameme.models.spec import parse_spec

__all__ = [
    "MIXERS",
    "SCALES",
    "DecodeState",
    "LanguageModel",
    "LayerConfig",
    "Mixer",
    "ModelConfig",
    "SpecError",
    "build_model",
    "get_scale",
    "list_presets",
    "parse_spec",
]
