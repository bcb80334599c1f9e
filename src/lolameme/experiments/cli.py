"""``lolameme experiment list|show|run``: the paper's experiments, one command each.

Heavy modules (pandas, torch) are imported inside the commands so ``lolameme --help``
stays fast. ``quickstart`` lives in its own module and is registered here.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import typer

from lolameme.errors import ConfigError

experiment_app = typer.Typer(
    rich_markup_mode=None,
    help="Run the paper's experiments (tables and figures) at a size that fits your hardware.",
    no_args_is_help=True,
)


ONLY_HELP = (
    "Only these points of an axis: seq_len=64,128 (value or tick label; repeatable, "
    "one axis each; 'experiment show' lists the axes)."
)


def _csv(text: str | None, sep: str = ",") -> list[str] | None:
    return [x.strip() for x in text.split(sep) if x.strip()] if text else None


def _model_list(text: str | None) -> list[str] | None:
    """``--models``: comma-separated, or ';'-separated when a spec has commas (hybrids)."""
    return _csv(text, ";" if text and ";" in text else ",")


def _seeds(text: str | None) -> list[int] | None:
    items = _csv(text)
    if items is None:
        return None
    try:
        return [int(x) for x in items]
    except ValueError:
        raise ConfigError(f"--seeds must be comma-separated integers, not '{text}'") from None


@experiment_app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the experiments with their paper reference and cells per scale."""
    from lolameme.experiments.grid import expand
    from lolameme.experiments.spec import EXPERIMENT_SCALES
    from lolameme.experiments.spec_loader import available_experiments, load_spec

    rows = []
    for name in available_experiments():
        spec = load_spec(name)
        cells = {s: len(expand(spec.at(s))) for s in EXPERIMENT_SCALES if s in spec.scales}
        rows.append({"name": name, "paper": spec.paper_refs, "cells": cells, "title": spec.title})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    # widths from the content, the free-length reference last: no column can overflow
    name_width = max(len("experiment"), *(len(r["name"]) for r in rows))
    counts = {
        s: max(len(s), *(len(str(r["cells"].get(s, "-"))) for r in rows)) for s in EXPERIMENT_SCALES
    }
    typer.echo(
        f"{'experiment':<{name_width}}  "
        + "  ".join(f"{s:>{w}}" for s, w in counts.items())
        + "  reference"
    )
    for row in rows:
        cells = "  ".join(f"{row['cells'].get(s, '-')!s:>{w}}" for s, w in counts.items())
        typer.echo(f"{row['name']:<{name_width}}  {cells}  {row['paper']}")
    typer.echo(
        "(smoke/tiny/small/paper: cells per scale = models x data settings x seeds; "
        "'lolameme experiment show NAME' for one)"
    )


@experiment_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Experiment name (see 'experiment list') or a .yaml."),
    scale: str = typer.Option("tiny", "--scale", "-s", help="smoke, tiny, small or paper."),
    sets: list[str] = typer.Option([], "--set", help="Override a setting: train.steps=400."),
    only: list[str] = typer.Option([], "--only", help=ONLY_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the resolved spec as JSON."),
) -> None:
    """Print an experiment's resolved settings at one scale and its cells."""
    from lolameme.experiments.grid import Selection, parse_only
    from lolameme.experiments.runner import check_plan, plan, resolved_spec

    selection = Selection(only=parse_only(only), sets=sets)
    scaled, cells = plan(name, scale, selection)
    check_plan(scaled, cells, selection)  # what 'run' would refuse, 'show' refuses too
    spec = scaled.spec
    resolved = resolved_spec(scaled, selection.overrides)
    resolved["cells"] = [c.cell_id for c in cells]
    if as_json:
        typer.echo(json.dumps(resolved, indent=2))
        return
    settings = resolved["scale_settings"]
    typer.echo(f"{spec.name}: {spec.title} ({spec.paper_refs})")
    typer.echo(f"scale {scale}: {settings['note']}".rstrip())
    typer.echo(
        f"data: task {spec.task}, preset {resolved['preset']}, overrides "
        f"{json.dumps({**spec.data.overrides, **settings['data']['overrides']})}"
    )
    typer.echo(f"train: {json.dumps(settings['train'])}")
    typer.echo(f"models: {', '.join(spec.models)}; seeds: {resolved['seeds']}")
    for axis in resolved["axes"]:
        labels = [
            p["label"] + (f" (starts from {p['init_from']})" if "init_from" in p else "")
            for p in axis["points"]
        ]
        typer.echo(f"axis {axis['name']}: {labels}")
    typer.echo(f"{len(cells)} cells")


@experiment_app.command("run")
def run_command(
    name: str = typer.Argument(..., help="Experiment name (see 'experiment list') or a .yaml."),
    scale: str = typer.Option("tiny", "--scale", "-s", help="smoke, tiny, small or paper."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (results, runs, data)."),
    engine: str = typer.Option("local", "--engine", help="local (process pool) or ray."),
    workers: int = typer.Option(
        1,
        "--workers",
        "-w",
        help="Cells at once (local: processes, each with idle cores / N torch threads, at "
        "least 1; ray: 0 = no cap).",
    ),
    models: str = typer.Option(
        None,
        "--models",
        help="Only these models: 'gpt2,hyena'; separate with ';' when a model has commas "
        "('attention*2;base_conv,attention').",
    ),
    seeds: str = typer.Option(None, "--seeds", help="Only these seeds: 0,1."),
    only: list[str] = typer.Option([], "--only", help=ONLY_HELP),
    sets: list[str] = typer.Option(
        [], "--set", help="Override a setting: data.GLOBALVAR_COUNT=30, train.steps=400."
    ),
    tag: str = typer.Option(
        "",
        "--tag",
        help="Record these cells apart (e.g. a calibration run); the report lists them.",
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Discard cells that were run with other settings."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    report: bool = typer.Option(False, "--report", help="Write DIR/report.md at the end."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Training progress per cell."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train and evaluate every cell of an experiment; rerun to resume after a stop."""
    from lolameme.experiments.grid import Selection, parse_only
    from lolameme.experiments.runner import run_experiment

    selection = Selection(
        models=_model_list(models) or (),
        seeds=_seeds(seeds) or (),
        only=parse_only(only),
        tag=tag,
        sets=sets,
    )
    summary = run_experiment(
        name,
        scale,
        out,
        selection=selection,
        engine=engine,
        workers=workers,
        replace=replace,
        device=device,
        progress=not quiet,
        verbose=verbose,
        command=shlex.join(["lolameme", *sys.argv[1:]]),
    )
    typer.echo(summary.line())
    for cell_id in summary.failed:
        typer.echo(f"failed: {cell_id} (see {out}/cells/{cell_id}.error.txt)", err=True)
    if report:
        from lolameme.reporting.report import write_report

        typer.echo(f"report: {write_report(out)}")
    if summary.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from lolameme.experiments import quickstart

    app.add_typer(experiment_app, name="experiment")
    quickstart.register(app)
