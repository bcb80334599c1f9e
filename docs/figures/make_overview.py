"""Draw docs/figures/overview.png, the picture at the top of the README.

One LoLa program beside its MeMe spelling, annotated with what a LOLAMEME item is made
of (a global recalled from training, locals assigned in context, noise statements, latent
types at work, the label), then the pipeline and the paper's finding. Every annotation
is computed by the package itself: the parser reads the program, the renderer writes its
MeMe spelling, the interpreter labels it (with and without latent types), and the data
set's metadata code counts its noise statements. Change the program below and the figure
stays true.

    python3 docs/figures/make_overview.py        # writes docs/figures/overview.png
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from lolameme._io import atomic_path  # noqa: E402
from lolameme.data.tasks.lolameme.verify import program_facts  # noqa: E402
from lolameme.languages import (  # noqa: E402
    BASE_LATENT,
    NO_LATENT,
    Program,
    Var,
    evaluate,
    parse,
    render,
    run,
)
from lolameme.languages.ast import Assign, BinOp, Num  # noqa: E402

PROGRAM = "aL = 4;tmrGk = 24;xnBolt = (yI + aL);oZ = (tmrGk * 3);print(xnBolt)"
GLOBALS = {"yI": 13}  # the data set's globals file: values the model must memorise
OUT = Path(__file__).with_name("overview.png")

COLORS = {
    "global": "#1f77b4",
    "local": "#2ca02c",
    "noise": "#7f7f7f",
    "latent": "#d62728",
    "label": "#9467bd",
}
MONO = {"family": "DejaVu Sans Mono", "size": 12.5}
NOTE = {"family": "DejaVu Sans Mono", "size": 10.5}  # mono: yI and yl must not look alike


def noise_indices(program: Program) -> set[int]:
    """Statements outside the backward slice of the printed name (the spec's noise)."""
    needed, kept = {program.output}, set()
    for j in range(len(program.statements) - 1, -1, -1):
        statement = program.statements[j]
        if statement.target in needed:
            kept.add(j)
            needed.discard(statement.target)
            needed.update(_reads(statement.value))
    return set(range(len(program.statements))) - kept


def _reads(expr: object) -> list[str]:
    if isinstance(expr, Var):
        return [expr.name]
    if isinstance(expr, BinOp):
        return _reads(expr.left) + _reads(expr.right)
    return []


def operands(expr: object) -> list[str]:
    """Names read as operands of an operator: the ones whose latent type applies."""
    if isinstance(expr, BinOp):
        return [
            side.name if isinstance(side, Var) else n
            for side in (expr.left, expr.right)
            for n in ([side.name] if isinstance(side, Var) else operands(side))
        ]
    return []


def _with_values(expr: object, env: dict[str, int]) -> str:
    """The expression with each operand's effective value in its place: ``(6 + 8)``."""

    def swap(e: object) -> object:
        if isinstance(e, BinOp):
            return BinOp(e.op, swap(e.left), swap(e.right))
        if isinstance(e, Var):
            return Num(BASE_LATENT.effective(e.name, env.get(e.name, GLOBALS.get(e.name, 0))))
        return e

    text = render(Program((Assign("x", swap(expr)),), "x"), "lola")
    return text.split(" = ", 1)[1].split(";", 1)[0]


def annotations(program: Program) -> list[tuple[str, str]]:
    """One (colour key, note) per statement and one for the print, computed."""
    noise = noise_indices(program)
    facts = program_facts(program, set(GLOBALS), BASE_LATENT)
    assert facts["noise_statements"] == len(noise)  # our slice agrees with the data's
    assigned: set[str] = set()
    notes = []
    for j, statement in enumerate(program.statements):
        env = run(Program(program.statements[:j], program.output), GLOBALS)  # before j
        if j in noise:
            notes.append(("noise", "noise: the printed value does not depend on it"))
        elif isinstance(statement.value, BinOp):
            parts = []
            for name in operands(statement.value):
                recalled = name not in assigned
                kind = "global, recalled from training" if recalled else "local"
                value = GLOBALS[name] if recalled else env[name]
                latent = BASE_LATENT.type_of(name)
                effective = BASE_LATENT.effective(name, value)
                parts.append(
                    f"{name}: {kind} = {value}; latent type {latent} "
                    f"({BASE_LATENT.modification(latent)}) -> {effective}"
                )
            total = run(Program(program.statements[: j + 1], program.output), GLOBALS)
            shown = _with_values(statement.value, env)
            parts.append(f"{statement.target} = {shown} = {total[statement.target]}")
            notes.append(("latent", "\n".join(parts)))
        else:
            notes.append(("local", "local: assigned in context, in this item's own text"))
        assigned.add(statement.target)
    with_latent = evaluate(program, GLOBALS)
    without = evaluate(program, GLOBALS, latent=NO_LATENT)
    notes.append(("label", f"label: {with_latent}   (latent types off: {without})"))
    return notes


def _split(text: str) -> list[str]:
    pieces = text.split(";")
    return [p + ";" for p in pieces[:-1]] + [pieces[-1]]


def draw() -> Path:
    program = parse(PROGRAM)
    lola = _split(render(program, "lola"))
    meme = _split(render(program, "meme"))
    notes = annotations(program)
    assert len(lola) == len(meme) == len(notes)

    fig = plt.figure(figsize=(14, 7.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 14)
    ax.set_ylim(0, 7.6)
    ax.axis("off")

    ax.text(0.35, 7.25, "One LOLAMEME item, in both languages", fontsize=16, weight="bold")
    ax.text(
        0.35,
        6.9,
        "Every rule is known, so every label is exact: the globals file holds "
        + ", ".join(
            f"{k} ({render(parse(f'print({k})'), 'meme')[6:-1]}) = {v}" for k, v in GLOBALS.items()
        )
        + " (memory); test_with_global items use it without assigning it.",
        fontsize=11.5,
        color="#333333",
    )
    ax.text(0.45, 6.25, "LoLa", fontsize=13, weight="bold")
    ax.text(3.55, 6.25, "MeMe (same program)", fontsize=13, weight="bold")
    ax.text(7.25, 6.25, "what it is (computed by lolameme)", fontsize=13, weight="bold")
    top = 6.05
    for lo, me, (kind, note) in zip(lola, meme, notes, strict=True):
        height = 0.22 * (note.count("\n") + 1) + 0.3
        box = FancyBboxPatch(
            (0.3, top - height),
            13.4,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=COLORS[kind],
            alpha=0.10,
            edgecolor=COLORS[kind],
        )
        ax.add_patch(box)
        ax.text(0.45, top - 0.11, lo, fontdict=MONO, va="top")
        ax.text(3.55, top - 0.11, me, fontdict=MONO, va="top")
        ax.text(
            7.25, top - 0.12, note, fontdict=NOTE, color=COLORS[kind], va="top", linespacing=1.4
        )
        top -= height + 0.1
    ax.text(
        0.45,
        top - 0.08,
        "In the data set the program is one line; the model reads it and writes the label.",
        fontsize=10.5,
        color="#555555",
        style="italic",
        va="top",
    )

    steps = [
        ("generate", "lolameme generate\n--preset tiny --out data"),
        ("train", "lolameme train --data data\n--model thex-13 --out run"),
        ("eval", "lolameme eval run\n(EM per split, breakdowns)"),
        ("report", "lolameme report DIR\n(tables, verdicts, plots)"),
    ]
    y = 0.7
    for i, (name, command) in enumerate(steps):
        x = 0.4 + i * 3.45
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                2.85,
                1.05,
                boxstyle="round,pad=0.03,rounding_size=0.1",
                facecolor="#f2f2f2",
                edgecolor="#444444",
            )
        )
        ax.text(x + 1.42, y + 0.78, name, ha="center", fontsize=13, weight="bold")
        ax.text(x + 1.42, y + 0.12, command, ha="center", fontsize=9.5, family="DejaVu Sans Mono")
        if i < len(steps) - 1:
            ax.add_patch(
                FancyArrowPatch(
                    (x + 2.92, y + 0.52), (x + 3.38, y + 0.52), arrowstyle="-|>", mutation_scale=16
                )
            )
    ax.text(
        0.4,
        0.28,
        "The paper's finding: GPT-2 and Hyena have complementary strengths, and THEX (Hyena "
        "with one GPT-2 attention layer)\nbeats both on most LOLAMEME tasks. "
        "docs/results/ says what our CPU-sized runs reproduce.",
        fontsize=11.5,
        va="center",
    )
    with atomic_path(OUT) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return OUT


if __name__ == "__main__":
    print(f"wrote {draw()}")
