"""``lolameme models``: list the presets, or describe one spec layer by layer."""

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


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models_command(
        scale: str = typer.Option("paper", "--scale", help="paper, tiny or smoke."),
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
        from lolameme.models.summary import describe_presets, describe_spec, human_count

        if spec is not None:
            info = describe_spec(spec, scale, vocab, max_seq_len)
            if as_json:
                typer.echo(json.dumps(info, indent=2))
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
