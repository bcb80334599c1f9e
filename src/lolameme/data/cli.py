"""``lolameme generate`` and ``lolameme data stats|show|presets``.

Heavy libraries (pyarrow, pandas) are imported inside the commands so that
``lolameme --help`` stays fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

data_app = typer.Typer(
    rich_markup_mode=None,
    help="Inspect generated data sets and list the available tasks and presets.",
    no_args_is_help=True,
)


def generate_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Directory to create (must be empty)."),
    preset: str = typer.Option(
        None, "--preset", "-p", help="Preset (default: the task's; see 'lolameme data presets')."
    ),
    task: str = typer.Option("lolameme", "--task", help="lolameme, listops or mqar."),
    overrides: list[str] = typer.Option(
        None,
        "--set",
        help="Override one knob: KEY=VALUE (paper keys accepted; VALUE parsed as JSON "
        "when it can be). Repeatable.",
    ),
    seed: int = typer.Option(None, "--seed", help="Random seed (default: the config's)."),
    workers: int = typer.Option(
        0, "--workers", "-w", help="Processes to use (default: all cores)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --out."),
) -> None:
    """Generate a data set: every split as Parquet shards, plus config, globals, manifest."""
    from lolameme.data.generate import generate, parse_override

    pairs = dict(parse_override(text) for text in overrides or [])
    path = generate(
        task,
        preset,
        pairs,
        out,
        seed=seed,
        workers=workers or os.cpu_count() or 1,
        overwrite=overwrite,
    )
    from lolameme.data.store import open_dataset

    info = open_dataset(path)
    counts = ", ".join(f"{split} {info.rows(split)}" for split in info.splits)
    typer.echo(f"wrote {path} ({counts})")


@data_app.command("stats")
def stats_cmd(
    path: Path = typer.Argument(..., help="Data set directory."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Per split: rows, unique labels, label range, program length, noise, global use."""
    from lolameme.data.stats import dataset_stats, format_stats

    stats = dataset_stats(path)
    typer.echo(json.dumps(stats, indent=2) if as_json else format_stats(stats))


@data_app.command("show")
def show_cmd(
    path: Path = typer.Argument(..., help="Data set directory."),
    split: str = typer.Option("train", "--split", "-s", help="Split to show."),
    n: int = typer.Option(5, "-n", min=1, help="Number of items."),
) -> None:
    """Print the first items of a split with their labels."""
    from lolameme.data.store import iter_split, open_dataset

    info = open_dataset(path)
    info.rows(split)  # a clear error for an unknown split
    shown = 0
    for frame in iter_split(info, split, batch_size=max(1, n)):
        for row in frame.to_dict("records"):
            if shown >= n:
                return
            if "program" in row:
                typer.echo(f"{row['program']}  ->  {row['label']}")
            else:
                typer.echo(json.dumps({k: _plain(v) for k, v in row.items()}))
            shown += 1


def _plain(value: object) -> object:
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value


@data_app.command("verify")
def verify_cmd(path: Path = typer.Argument(..., help="Data set directory (LoLa/MeMe).")) -> None:
    """Re-parse and relabel every item and check every split guarantee; exit 1 on a problem."""
    from lolameme.data.verify import verify_dataset

    reports = verify_dataset(path)
    bad = 0
    for split, report in reports.items():
        status = "ok" if not report.problem_count else f"{report.problem_count} problem(s)"
        typer.echo(f"{split}: {report.rows} rows, {status}")
        for problem in report.problems:
            typer.echo(f"  {problem}")
        bad += report.problem_count
    if bad:
        raise typer.Exit(1)


@data_app.command("presets")
def presets_cmd() -> None:
    """List the tasks and their presets."""
    from lolameme.data.tasks import available_tasks, get_task
    from lolameme.errors import ConfigError

    for name in available_tasks():
        try:
            task = get_task(name)
        except ConfigError as exc:
            typer.echo(f"{name}: ({exc})")
            continue
        typer.echo(f"{name}: {task.description}")
        for preset in task.presets:
            mark = " (default)" if preset == task.default_preset else ""
            note = task.notes.get(preset, "")
            typer.echo(f"  {preset}{mark}" + (f": {note}" if note else ""))


def register(app: typer.Typer) -> None:
    app.command("generate")(generate_cmd)
    app.add_typer(data_app, name="data")
