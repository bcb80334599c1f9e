"""``lolameme generate`` and ``lolameme data stats|show|verify|presets``.

Heavy libraries (pyarrow, pandas) are imported inside the commands so that
``lolameme --help`` stays fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

data_app = typer.Typer(
    rich_markup_mode=None,
    help="Inspect generated data sets and list the available tasks and presets.",
    no_args_is_help=True,
)


def generate_cmd(
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Directory to create (empty, or an earlier data set with --overwrite).",
    ),
    preset: str = typer.Option(
        None, "--preset", "-p", help="Preset (see 'lolameme data presets').  [default: the task's]"
    ),
    task: str = typer.Option("lolameme", "--task", help="lolameme, listops or mqar."),
    overrides: list[str] = typer.Option(
        None,
        "--set",
        help="Override one knob: KEY=VALUE (paper keys accepted; VALUE parsed as JSON "
        "when it can be). Repeatable.",
    ),
    seed: int = typer.Option(None, "--seed", help="Random seed.  [default: the preset's]"),
    workers: int = typer.Option(0, "--workers", "-w", help="Processes to use; 0: all cores."),
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
    for frame in iter_split(info, split, batch_size=min(n, 10_000)):  # n may exceed any split
        for row in frame.to_dict("records"):
            if shown >= n:
                return
            if "program" in row:
                typer.echo(f"{row['program']}  ->  {row['label']}")
            elif "inputs" in row and "targets" in row:
                typer.echo(f"item {shown}:")
                typer.echo(format_token_item(_plain(row["inputs"]), _plain(row["targets"])))
            else:
                typer.echo(json.dumps({k: _plain(v) for k, v in row.items()}))
            shown += 1


def _plain(value: object) -> object:
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value


def format_token_item(inputs: Any, targets: Any, width: int = 96, ignore: int = -100) -> str:
    """A token-level item (MQAR) as aligned rows: position, input, target ('.' = no target).

    Each target sits under the input it is predicted at, so a query key and the value it
    must recall read in one column; long sequences wrap into blocks of ``width`` columns.
    """
    cells = [
        (str(i), str(x), "." if y == ignore else str(y))
        for i, (x, y) in enumerate(zip(inputs, targets, strict=True))
    ]
    col = max(len(c) for cell in cells for c in cell) + 1
    per_block = max(1, (width - 8) // col)
    blocks = []
    for start in range(0, len(cells), per_block):
        chunk = cells[start : start + per_block]
        blocks.append(
            "\n".join(
                f"  {name:<7}" + "".join(cell[k].rjust(col) for cell in chunk)
                for k, name in enumerate(("pos", "input", "target"))
            )
        )
    queries = sum(1 for y in targets if y != ignore)
    return "\n\n".join(blocks) + f"\n  ({len(cells)} tokens, {queries} with a target)"


@data_app.command("verify")
def verify_cmd(path: Path = typer.Argument(..., help="Data set directory (LoLa/MeMe).")) -> None:
    """Re-parse and relabel every item and check every split guarantee; exit 1 on a problem."""
    from lolameme.data.tasks.lolameme.verify import verify_dataset

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
