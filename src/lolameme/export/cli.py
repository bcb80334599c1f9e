"""``lolameme export RUN --to DIR --format hf|safetensors``."""

from __future__ import annotations

from pathlib import Path

import typer


def export_command(
    run: Path = typer.Argument(..., help="Run directory written by 'lolameme train'."),
    to: Path = typer.Option(..., "--to", help="Directory to write (empty, or an earlier export)."),
    format: str = typer.Option(
        "hf",
        "--format",
        help="hf: a transformers GPT2LMHeadModel directory (plain GPT-2 blocks only); "
        "safetensors: weights and lolameme's config.json (any model).",
    ),
) -> None:
    """Export the run's latest checkpoint with its tokenizer and a README model card."""
    from lolameme.export import export_run

    path = export_run(run, to, format)
    typer.echo(f"exported {run} to {path} ({format})")


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
