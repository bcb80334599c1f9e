"""Experiment commands. For now ``lolameme quickstart`` (in ``quickstart.py``)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from lolameme.experiments import quickstart

    quickstart.register(app)
