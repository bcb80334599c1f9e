"""Leave lolameme with a trained run: ``lolameme export RUN --to DIR --format hf|safetensors``.

- ``hf``: a ``transformers`` ``GPT2LMHeadModel`` directory (for runs whose pattern is
  plain GPT-2 blocks), with a ``tokenizer.json`` that ``PreTrainedTokenizerFast`` loads;
- ``safetensors``: the weights and our ``config.json`` (any pattern), which
  ``lolameme.load_run`` and ``LanguageModel.from_config_dict`` read back.

Both get a README model card. Names are imported on first use (no torch at import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lolameme.export.writer import export_run, is_export, load_export

__all__ = ["export_run", "is_export", "load_export"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from lolameme.export import writer

        return getattr(writer, name)
    raise AttributeError(f"module 'lolameme.export' has no attribute {name!r}")
