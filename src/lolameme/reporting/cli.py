"""``lolameme report DIR``: the report of an experiment output directory."""

from __future__ import annotations

from pathlib import Path

import typer


def report_command(
    out: Path = typer.Argument(
        ..., metavar="DIR", help="Directory written by 'lolameme experiment run'."
    ),
    tag: str | None = typer.Option(
        None,
        help="Tag whose cells fill the tables ('' for untagged cells); the others are listed "
        "as calibration runs.  [default: the latest tag that covers the grid]",
    ),
) -> None:
    """Write DIR/report.md, DIR/report.json and DIR/figures/*.png from DIR's result files."""
    from lolameme.reporting.report import write_report

    typer.echo(f"wrote {write_report(out, tag=tag)}")


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
