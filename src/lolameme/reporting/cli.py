"""``lolameme report DIR``: the report of an experiment output directory."""

from __future__ import annotations

from pathlib import Path

import typer


def report_command(
    out: Path = typer.Argument(..., help="Directory written by 'lolameme experiment run'."),
) -> None:
    """Write DIR/report.md, DIR/report.json and DIR/figures/*.png from DIR's result files."""
    from lolameme.reporting.report import write_report

    typer.echo(f"wrote {write_report(out)}")


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
