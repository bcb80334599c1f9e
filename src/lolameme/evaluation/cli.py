"""``lolameme eval RUN``: exact match and loss of a trained run, per split and metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def format_table(report: dict[str, Any], baselines: dict[str, float] | None = None) -> str:
    """A plain-text table: one row per split with n, EM and loss, and a ``majority``
    column when ``baselines`` (split -> majority-label EM) is given."""
    rows = [("split", "n", "EM", "loss", *(("majority",) if baselines is not None else ()))]
    for split, s in report["splits"].items():
        em = "-" if s.get("em") is None else f"{s['em']:.3f}"
        loss = "-" if s.get("loss") is None else f"{s['loss']:.4f}"
        extra: tuple[str, ...] = ()
        if baselines is not None:
            extra = (f"{baselines[split]:.3f}" if split in baselines else "-",)
        rows.append((split, str(s["n"]), em, loss, *extra))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join(lines)


def eval_command(
    run: Path = typer.Argument(..., help="Run directory written by 'lolameme train'."),
    split: list[str] | None = typer.Option(
        None, "--split", help="Split to evaluate (repeatable). [every non-train split]"
    ),
    limit: int | None = typer.Option(None, min=1, help="First N items of each split."),
    batch_size: int = typer.Option(256, min=1, help="Prompts decoded together."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    data: Path | None = typer.Option(
        None, help="Evaluate on this data set instead of the run's own."
    ),
    threads: int | None = typer.Option(None, min=1, help="torch CPU threads."),
    as_json: bool = typer.Option(False, "--json", help="Print eval.json instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Greedy-decode every test item; write RUN/eval.json and RUN/predictions-SPLIT.parquet."""
    from lolameme.evaluation import evaluate_run

    report = evaluate_run(
        run,
        splits=split or None,
        limit=limit,
        progress=not quiet,
        batch_size=batch_size,
        device=device,
        data=data,
        threads=threads,
    )
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        typer.echo(f"{report['model']} at step {report['step']} ({run})")
        typer.echo(format_table(report))


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
