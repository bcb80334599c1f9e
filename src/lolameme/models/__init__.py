"""The model zoo: GPT-2, Hyena, BaseConv, THEX-n and any layer pattern of mixers.

    build_model("thex-13", scale="tiny", vocab_size=512, max_seq_len=256)

A model is a list of blocks; a block is a sequence mixer (registered by name in
:data:`MIXERS`, or any :class:`Mixer` subclass named by its import path) followed by an
MLP; a spec may also name a whole-model builder. See ``docs/models.md``.

The names below are imported on first use (PEP 562), so that importing
``lolameme.models.cli`` for ``lolameme --help`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "LayerConfig": "lolameme.models.config",
    "ModelConfig": "lolameme.models.config",
    "SpecError": "lolameme.models.config",
    "MIXERS": "lolameme.models.mixers",
    "Mixer": "lolameme.models.mixers",
    "DecodeState": "lolameme.models.model",
    "LanguageModel": "lolameme.models.model",
    "build_model": "lolameme.models.model",
    "model_from_config_dict": "lolameme.models.model",
    "ExternalModel": "lolameme.models.external",
    "ExternalModelConfig": "lolameme.models.config",
    "SCALES": "lolameme.models.presets",
    "get_scale": "lolameme.models.presets",
    "list_presets": "lolameme.models.presets",
    "parse_spec": "lolameme.models.spec",
}

__all__ = [
    "MIXERS",
    "SCALES",
    "DecodeState",
    "ExternalModel",
    "ExternalModelConfig",
    "LanguageModel",
    "LayerConfig",
    "Mixer",
    "ModelConfig",
    "SpecError",
    "build_model",
    "get_scale",
    "list_presets",
    "model_from_config_dict",
    "parse_spec",
]

if TYPE_CHECKING:
    from lolameme.models.config import (
        ExternalModelConfig,
        LayerConfig,
        ModelConfig,
        SpecError,
    )
    from lolameme.models.external import ExternalModel
    from lolameme.models.mixers import MIXERS, Mixer
    from lolameme.models.model import (
        DecodeState,
        LanguageModel,
        build_model,
        model_from_config_dict,
    )
    from lolameme.models.presets import SCALES, get_scale, list_presets
    from lolameme.models.spec import parse_spec


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lolameme.models' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
