"""The LoLa/MeMe task: programs in the paper's two languages, labelled by the interpreter."""

from __future__ import annotations

from lolameme.data.config import LolamemeConfig
from lolameme.data.generator import build_lolameme
from lolameme.data.presets import DESCRIPTIONS, PRESETS
from lolameme.data.tasks import Task

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
