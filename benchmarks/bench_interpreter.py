"""Parse + interpret LoLa programs vs. Python's own ``ast.parse`` + ``compile`` + ``eval``.

Programs have the base config's shape (5 statements, expression depth 1..2, integers
1..100, names from a pool of 60, globals for the names read before assignment). They are
built as ASTs with a fixed-seed ``random.Random``, rendered to LoLa text, and each timed
pass goes from text to the output value on one core:

- ours:            ``evaluate(parse(text), globals, NO_LATENT)``
- python (exec):   the program as newline-separated Python statements ending with
                   ``__out__ = <printed name>``, run by ``exec(compile(ast.parse(src)))``
- python (eval):   the program as one expression ``(a := 1, b := (a + 2), b)[-1]``, run by
                   ``eval(compile(ast.parse(src, mode="eval")))`` (one statement-free compile)

The ratio is ours / the faster Python baseline (target >= 3, issue 19). The Python
baselines get the globals as their namespace and never apply latent types, so ours runs
latent off. The texts are parsed 5 times, so the parser's leaf cache is warm after the
first pass, as it is in the generator (which parses many programs over one vocabulary).
Render throughput (what the data generator needs) is printed as well.

    python3 benchmarks/bench_interpreter.py [--programs 20000] [--repeats 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import ast
import gc
import random
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Benchmark this checkout's code, not whatever ``lolameme`` happens to be installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lolameme.languages import (  # noqa: E402
    NO_LATENT,
    Assign,
    BinOp,
    EvaluationError,
    Expr,
    Num,
    Op,
    Program,
    Var,
    evaluate,
    parse,
    render,
)

PY_OPS = {Op.ADD: "+", Op.SUB: "-", Op.MUL: "*", Op.MOD: "%"}


def name_pool(rng: random.Random, size: int) -> list[str]:
    """``size`` distinct camelCase names of 3..10 letters."""
    names: set[str] = set()
    while len(names) < size:
        letters = [rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 10))]
        for i in range(1, len(letters)):
            if rng.random() < 0.25:
                letters[i] = letters[i].upper()
        names.add("".join(letters))
    names.discard("print")
    return sorted(names)


def expression(rng: random.Random, names: list[str], depth: int) -> Expr:
    """A fully bracketed expression of exactly ``depth`` (0 = a leaf)."""
    if depth == 0:
        return Var(rng.choice(names)) if rng.random() < 0.5 else Num(rng.randint(1, 100))
    deep_left = rng.random() < 0.5
    left = expression(rng, names, depth - 1 if deep_left else rng.randint(0, depth - 1))
    right = expression(rng, names, rng.randint(0, depth - 1) if deep_left else depth - 1)
    return BinOp(rng.choice(list(Op)), left, right)


def programs(rng: random.Random, count: int, names: list[str], table: dict[str, int]):
    """``count`` programs that evaluate without error (modulo by zero is drawn again)."""
    out: list[Program] = []
    while len(out) < count:
        statements = tuple(
            Assign(rng.choice(names), expression(rng, names, rng.randint(1, 2))) for _ in range(5)
        )
        program = Program(statements, rng.choice([s.target for s in statements]))
        try:
            evaluate(program, table, NO_LATENT)
        except EvaluationError:
            continue
        out.append(program)
    return out


def to_python(expr: Expr) -> str:
    if isinstance(expr, Var):
        return expr.name
    if isinstance(expr, Num):
        return str(expr.value)
    return f"({to_python(expr.left)} {PY_OPS[expr.op]} {to_python(expr.right)})"


def python_statements(program: Program) -> str:
    lines = [f"{s.target} = {to_python(s.value)}" for s in program.statements]
    return "\n".join([*lines, f"__out__ = {program.output}"])


def python_expression(program: Program) -> str:
    parts = [f"{s.target} := {to_python(s.value)}" for s in program.statements]
    return f"({', '.join([*parts, program.output])})[-1]"


def best_rates(
    methods: dict[str, Callable[[], list]], count: int, repeats: int
) -> dict[str, tuple[float, list]]:
    """Programs per second of each method's fastest pass, and that pass's outputs.

    Methods take turns within each round, so load from other processes on the shared
    machine falls on all of them alike instead of on whichever ran during a busy spell.
    """
    best = dict.fromkeys(methods, float("inf"))
    outputs: dict[str, list] = {}
    for _ in range(repeats):
        for name, fn in methods.items():
            gc.collect()
            start = time.perf_counter()
            outputs[name] = fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: (count / best[name], outputs[name]) for name in methods}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    names = name_pool(rng, 60)
    table = {name: rng.randint(1, 100) for name in names}
    progs = programs(rng, args.programs, names, table)
    texts = [render(p, "lola") for p in progs]
    py_exec = [python_statements(p) for p in progs]
    py_eval = [python_expression(p) for p in progs]
    n = len(progs)

    def ours() -> list[int]:
        return [evaluate(parse(t), table, NO_LATENT) for t in texts]

    def python_exec() -> list[int]:
        out = []
        for src in py_exec:
            namespace = dict(table)
            exec(compile(ast.parse(src), "<program>", "exec"), namespace)
            out.append(namespace["__out__"])
        return out

    def python_eval() -> list[int]:
        return [
            eval(compile(ast.parse(src, mode="eval"), "<program>", "eval"), dict(table))
            for src in py_eval
        ]

    mix_rng = random.Random(args.seed)
    results = best_rates(
        {
            "ours": ours,
            "exec": python_exec,
            "eval": python_eval,
            # Parse results are dropped at once: keeping 20k ASTs alive would time the
            # garbage collector's scans of them rather than the parser.
            "parse": lambda: [len(parse(t).statements) for t in texts],
            "evaluate": lambda: [evaluate(p, table, NO_LATENT) for p in progs],
            **{
                f"render {d}": lambda d=d: [render(p, d, rng=mix_rng) for p in progs]
                for d in ("lola", "meme", "module_mix")
            },
        },
        n,
        args.repeats,
    )
    rate = {name: r for name, (r, _) in results.items()}
    if not results["ours"][1] == results["exec"][1] == results["eval"][1]:
        raise SystemExit("outputs differ between the interpreter and Python: benchmark invalid")
    baseline = max(rate["exec"], rate["eval"])

    print(f"{n} programs, 5 statements, depth 1..2, 60 names; Python {sys.version.split()[0]}")
    rows = [
        ("parse + evaluate (ours, latent off)", rate["ours"]),
        ("python ast.parse + compile + exec", rate["exec"]),
        ("python ast.parse + compile + eval", rate["eval"]),
    ]
    for label, value in rows:
        print(f"{label:<38} {value:>10,.0f} programs/s")
    print(f"{'ratio ours / faster python baseline':<38} {rate['ours'] / baseline:>10.2f}"
          "  (issue 19: >= 3)")  # fmt: skip
    for label in ("parse", "evaluate", "render lola", "render meme", "render module_mix"):
        print(f"  {label + ' only' if ' ' not in label else label:<36} "
              f"{rate[label]:>10,.0f} programs/s")  # fmt: skip


if __name__ == "__main__":
    main()
