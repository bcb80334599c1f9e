"""``lolameme eval RUN`` (exact match and loss per split and metadata) and
``lolameme predict RUN PROGRAM...`` (the run's answers to new programs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from lolameme._threads import default_threads, threads_help
from lolameme.runs.layout import breakdown_order


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


def format_notes(report: dict[str, Any], run: Path, top: int = 6) -> str:
    """What goes under the table: the majority-label baseline per split, the first
    breakdown of each split (EM by the first metadata field), and where the rest is."""
    lines = []
    floors = [
        f"{split} {s['baseline']:.3f}"
        for split, s in report["splits"].items()
        if s.get("baseline") is not None
    ]
    if floors:
        lines.append("majority label (always the most common training label): " + ", ".join(floors))
    for split, s in report["splits"].items():
        by = s.get("by") or {}
        field = next((f for f in breakdown_order(by) if len(by[f] or {}) > 1), None)
        if field is None:
            continue
        values = sorted(by[field].items(), key=lambda kv: _numeric_first(kv[0]))
        shown = ", ".join(f"{v}: {x['em']:.3f} (n={x['n']})" for v, x in values[:top])
        more = f", ... {len(values) - top} more" if len(values) > top else ""
        lines.append(f"{split} EM by {field}: {shown}{more}")
    fields = sorted({f for s in report["splits"].values() for f in (s.get("by") or {})})
    if fields:
        lines.append(
            f"breakdowns by {', '.join(fields)}: {run / 'eval.json'} ('by' of each split); "
            f"every item: {run}/predictions-SPLIT.parquet"
        )
    return "\n".join(lines)


def _numeric_first(value: str) -> tuple[int, float | str]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def eval_command(
    run: Path = typer.Argument(..., help="Run directory written by 'lolameme train'."),
    split: list[str] | None = typer.Option(
        None, "--split", help="Split to evaluate (repeatable).  [default: every non-train split]"
    ),
    limit: int | None = typer.Option(None, min=1, help="First N items of each split."),
    batch_size: int = typer.Option(256, min=1, help="Prompts decoded together."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    data: Path | None = typer.Option(
        None,
        help="Evaluate on this data set (same task) instead of the run's own; results go "
        "to RUN/evals/FINGERPRINT/.",
    ),
    threads: int | None = typer.Option(None, min=1, help=threads_help()),
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
        notes = format_notes(report, run)
        if notes:
            typer.echo(notes)


def predict_command(
    run: Path = typer.Argument(..., help="Run directory written by 'lolameme train'."),
    programs: list[str] = typer.Argument(
        ..., help="Programs to answer, or - to read one program per line from stdin."
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="One JSON object per line: program, prediction, and label and correct when "
        "the globals are known.",
    ),
    language: str | None = typer.Option(
        None, "--language", help="lola or meme: render each program in it before the model."
    ),
    globals_file: Path | None = typer.Option(
        None,
        "--globals",
        help=(
            "Globals JSON {name: value} for labels, names in LoLa or MeMe spelling."
            "  [default: the run's data set's]"
        ),
    ),
    batch_size: int = typer.Option(256, min=1, help="Prompts decoded together."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    threads: int | None = typer.Option(None, min=1, help=threads_help()),
) -> None:
    """Print the run's answer to each program, one per line (greedy, as eval decodes).

    A malformed program gets the parser's error on stderr (and an empty line, or an
    "error" field with --json, on stdout), the others still run; the exit status is 1
    when any program failed.
    """
    import sys

    import torch

    from lolameme.evaluation.predict import predict
    from lolameme.export import open_run
    from lolameme.languages.globals_file import read_globals_file

    if programs == ["-"]:
        # bytes that are not UTF-8 stay in their line (as lone surrogates, as in argv), so
        # that line alone gets an error: a strict read would lose every program
        stdin = getattr(sys.stdin, "buffer", None)
        text = stdin.read().decode("utf-8", "surrogateescape") if stdin else sys.stdin.read()
        programs = text.splitlines()
    elif "-" in programs:
        raise typer.BadParameter("'-' (stdin) cannot be mixed with programs on the command line")
    table = read_globals_file(globals_file) if globals_file is not None else None
    torch.set_num_threads(threads or default_threads())
    loaded = open_run(run, device=device)
    items = predict(loaded, programs, language=language, globals=table, batch_size=batch_size)
    for i, item in enumerate(items):
        if item.error is not None:
            typer.echo(f"error: program {i + 1}: {item.error}", err=True)
        if as_json:
            typer.echo(json.dumps(item.to_json()))
        else:
            typer.echo(item.prediction or "")
    if any(item.error is not None for item in items):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("predict")(predict_command)
