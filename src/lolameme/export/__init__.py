"""Leave lolameme with a trained run: ``lolameme export RUN --to DIR --format hf|safetensors``.

- ``hf``: a ``transformers`` ``GPT2LMHeadModel`` directory (for runs whose pattern is
  plain GPT-2 blocks), with a ``tokenizer.json`` that ``PreTrainedTokenizerFast`` loads;
- ``safetensors``: the weights and our ``config.json`` (any pattern), which
  ``lolameme.load_run`` and ``LanguageModel.from_config_dict`` read back.

Both get a README model card. Names are imported on first use (no torch at import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lolameme._lazy import lazy_exports

_NAMES = ("export_run", "is_export", "load_export", "open_run")
__all__, __getattr__ = lazy_exports(__name__, dict.fromkeys(_NAMES, "lolameme.export.writer"))

if TYPE_CHECKING:
    from lolameme.export.writer import export_run, is_export, load_export, open_run  # noqa: F401
