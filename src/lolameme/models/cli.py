"""``lolameme models``: list the presets, describe one spec layer by layer, or check
that a spec's mixers (plugins included) are causal, decodable and trainable."""

from __future__ import annotations

import json
from typing import Any

import typer


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """A left-aligned text table of ``rows`` with (key, header) ``columns``."""
    cells = [[header for _, header in columns]]
    cells += [[str(row[key]) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def parse_mixer_kwargs(text: str | None) -> dict[str, dict[str, Any]] | None:
    """``--mixer-kwargs`` as a mapping of mixer -> keyword arguments (JSON)."""
    if text is None:
        return None
    from lolameme.models.config import SpecError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"--mixer-kwargs is not valid JSON ({exc.msg}): {text}") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise SpecError(
            "--mixer-kwargs must map each mixer to its keyword arguments, e.g. "
            '\'{"my_pkg.mixers:GatedDelta": {"d_state": 8}}\''
        )
    return value


MIXER_KWARGS_HELP = (
    "JSON: keyword arguments per mixer as the spec names it, over the scale's defaults, "
    'e.g. \'{"my_pkg.mixers:GatedDelta": {"d_state": 8}}\'.'
)


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(
        invoke_without_command=True,
        help="List the model presets, describe a spec, or check its mixers.",
    )
    app.add_typer(models_app, name="models")

    @models_app.command("check")
    def check_command(
        spec: str = typer.Argument(
            ..., help="Model spec whose mixers to check, e.g. 'hyena*2' or 'my_pkg.m:Cls'."
        ),
        scale: str = typer.Option("smoke", "--scale", help="Scale of the widths checked."),
        max_seq_len: int = typer.Option(
            64, "--max-seq-len", min=2, help="l_max: the longest sequence checked."
        ),
        mixer_kwargs: str | None = typer.Option(None, "--mixer-kwargs", help=MIXER_KWARGS_HELP),
        seed: int = typer.Option(0, "--seed", help="Seed of the weights and inputs."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """Check every mixer of SPEC: causality, decoding, gradients, shapes, bf16, state.

        Exits non-zero, naming the failed checks, when any mixer fails one.
        """
        import dataclasses

        import torch

        from lolameme.models.conformance import CHECKS, ConformanceError, check_spec

        torch.set_num_threads(min(torch.get_num_threads(), 4))
        reports = check_spec(
            spec,
            scale=scale,
            max_seq_len=max_seq_len,
            mixer_kwargs=parse_mixer_kwargs(mixer_kwargs),
            seed=seed,
        )
        if as_json:
            typer.echo(json.dumps([dataclasses.asdict(r) for r in reports], indent=2))
        else:
            mark = {True: "ok", False: "FAIL", None: "-"}
            rows = []
            for r in reports:
                row: dict[str, Any] = {
                    "layers": ",".join(map(str, r.layers)) or "model",
                    "mixer": r.mixer,
                    "width": r.width or "-",
                    "state": f"{r.state_size} / {r.state_kept}",
                }
                row.update({c.name: mark[c.ok] for c in r.checks})
                rows.append(row)
            columns = [("layers", "layers"), ("mixer", "mixer"), ("width", "width")]
            columns += [(name, name) for name in CHECKS]
            columns += [("state", f"state_size / kept (L={max_seq_len})")]
            typer.echo(_table([{k: row.get(k, "-") for k, _ in columns} for row in rows], columns))
            for r in reports:
                for c in r.failures():
                    typer.echo(f"FAIL {r.mixer} (layers {r.layers}) {c.name}: {c.detail}")
        failed = [f"{r.mixer} {c.name}" for r in reports for c in r.failures()]
        if failed:
            raise ConformanceError(f"models check '{spec}' failed: {'; '.join(failed)}")

    @models_app.callback()
    def models_command(
        ctx: typer.Context,
        scale: str = typer.Option("paper", "--scale", help="paper, small, tiny or smoke."),
        vocab: int = typer.Option(
            50257, "--vocab", min=1, help="Vocabulary size (the tokenizer's; GPT-2's by default)."
        ),
        max_seq_len: int = typer.Option(
            1024, "--max-seq-len", min=1, help="Context length: positions, filters, state size."
        ),
        spec: str | None = typer.Option(
            None, "--spec", help="Describe one spec layer by layer, e.g. 'thex-13'."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """List the model presets with parameter counts and state sizes.

        State size is what a model keeps per sequence to decode the next token after
        --max-seq-len tokens (KV cache for attention, input history for convolutions).
        """
        if ctx.invoked_subcommand is not None:
            return
        from lolameme.models.summary import describe_presets, describe_spec, human_count

        if spec is not None:
            info = describe_spec(spec, scale, vocab, max_seq_len)
            if as_json:
                typer.echo(json.dumps(info, indent=2))
                return
            if info["layers"] is None:  # a whole-model builder
                typer.echo(
                    f"{info['spec']} at scale {info['scale']}: a model builder, "
                    f"{human_count(info['parameters'])} parameters ({info['parameters']:,}); "
                    "decoding recomputes the forward pass"
                )
                return
            typer.echo(
                f"{info['spec']} at scale {info['scale']}: {human_count(info['parameters'])} "
                f"parameters ({info['parameters']:,}), state {info['state_size']:,} at "
                f"L={max_seq_len}, embedding width {info['embed_width']}, "
                f"learned positions: {'yes' if info['learned_positions'] else 'no'}"
            )
            rows = [
                {
                    **row,
                    "parameters": f"{row['parameters']:,}",
                    "state_size": f"{row['state_size']:,}",
                }
                for row in info["layer_rows"]
            ]
            columns = [("index", "layer"), ("mixer", "mixer"), ("width", "width")]
            columns += [("mlp_width", "mlp"), ("adapter", "adapter in")]
            columns += [("parameters", "params"), ("state_size", "state")]
            typer.echo(_table(rows, columns))
            if info["out_adapter"]:
                typer.echo(f"adapter out (before the final LayerNorm): {info['out_adapter']}")
            return
        rows = describe_presets(scale, vocab, max_seq_len)
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        typer.echo(f"scale {scale}, vocab {vocab}, max_seq_len {max_seq_len}")
        for row in rows:
            row["params"] = f"{human_count(row['parameters'])} ({row['parameters']:,})"
            row["state"] = f"{row['state_size']:,}"
        columns = [("spec", "preset"), ("params", "parameters"), ("state", "state size")]
        columns += [("pattern", "layers")]
        typer.echo(_table(rows, columns))
