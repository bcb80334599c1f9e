"""The LoLa/MeMe task: programs in the paper's two languages, labelled as they are drawn.

The sampler computes each label under the interpreter's rules; ``verify`` re-evaluates
every item with :func:`lolameme.languages.evaluate`.
"""

from __future__ import annotations

from lolameme.data.tasks import Task
from lolameme.data.tasks.lolameme.config import LolamemeConfig
from lolameme.data.tasks.lolameme.generator import build_lolameme
from lolameme.data.tasks.lolameme.presets import DESCRIPTIONS, PRESETS

TASK = Task(
    name="lolameme",
    description="LoLa/MeMe programs (paper Appendix A/D): print the program's output",
    format="text",
    config_cls=LolamemeConfig,
    presets=PRESETS,
    build=build_lolameme,
    default_preset="base",
    notes=DESCRIPTIONS,
)
