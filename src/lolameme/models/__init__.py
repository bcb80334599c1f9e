"""The model zoo: GPT-2, Hyena, BaseConv, THEX-n and any layer pattern of mixers.

    build_model("thex-13", scale="tiny", vocab_size=512, max_seq_len=256)

A model is a list of blocks; a block is a sequence mixer (registered by name in
:data:`MIXERS`, or any :class:`Mixer` subclass named by its import path) followed by an
MLP; a spec may also name a whole-model builder. See ``docs/models.md``.

The names below are imported on first use (PEP 562), so that importing
``lolameme.models.cli`` for ``lolameme --help`` does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lolameme._lazy import lazy_exports

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
    "MODEL_SCALES": "lolameme.models.presets",
    "get_scale": "lolameme.models.presets",
    "list_presets": "lolameme.models.presets",
    "parse_spec": "lolameme.models.spec",
}

__all__, __getattr__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    # for type checkers: at run time the names come from __getattr__
    from lolameme.models.config import (  # noqa: F401
        ExternalModelConfig,
        LayerConfig,
        ModelConfig,
        SpecError,
    )
    from lolameme.models.external import ExternalModel  # noqa: F401
    from lolameme.models.mixers import MIXERS, Mixer  # noqa: F401
    from lolameme.models.model import (  # noqa: F401
        DecodeState,
        LanguageModel,
        build_model,
        model_from_config_dict,
    )
    from lolameme.models.presets import MODEL_SCALES, get_scale, list_presets  # noqa: F401
    from lolameme.models.spec import parse_spec  # noqa: F401
