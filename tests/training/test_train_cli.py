"""``lolameme train --help`` states TrainConfig's defaults, not numbers of its own.

The command's options default to None (only typed flags are passed on), so their help
texts name the default as ``[default: X]``; importing TrainConfig there would load pydantic on
every ``lolameme`` start. This test keeps the two from drifting apart instead.
"""

import inspect
import re

from lolameme.training.cli import train_command
from lolameme.training.config import TrainConfig

# How the help spells a default that is not its plain value.
SPELLED = {("tie_embeddings", True): "tied"}


def _same(stated: str, default: object) -> bool:
    """``1e-3`` states 0.001; anything else must read exactly as the default prints."""
    if isinstance(default, float):
        try:
            return float(stated) == default
        except ValueError:
            return False
    return stated == str(default)


def test_help_defaults_are_train_config_defaults() -> None:
    checked = []
    for name, parameter in inspect.signature(train_command).parameters.items():
        found = re.search(r"\[default: ([^\]]+)\]$", parameter.default.help or "")
        field = TrainConfig.model_fields.get(name)
        if found is None or field is None or field.default is None:
            continue  # no stated default, or one computed at run time ("5% of steps")
        assert _same(found[1], SPELLED.get((name, field.default), field.default)), name
        checked.append(name)
    assert len(checked) >= 10, checked
