"""Check a LoLa/MeMe data set on disk against every promise the generator makes.

The checks re-read each program with the parser (not the generator's AST), relabel it
with the interpreter, and recompute the metadata with independent algorithms (the
dependency slice here walks *backwards* from the print, the generator's forward).
So ``lolameme data verify DIR`` is an audit a user can run on any copy of a data set,
and the tests use it as an oracle.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lolameme.data.store import checksum_problems, iter_split, open_dataset
from lolameme.data.tasks.lolameme.config import TEST_SPLITS, LolamemeConfig, latent_config
from lolameme.errors import DataError
from lolameme.languages import BinOp, Num, Program, Var, evaluate, parse, render
from lolameme.languages.ast import Expr, expr_depth, expr_names

_KEEP = 20  # problems kept per split (all are counted)


@dataclass
class SplitReport:
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def add(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < _KEEP:
            self.problems.append(message)


def _leaves(expr: Expr, operand: bool, out: list[tuple[Expr, bool]]) -> None:
    """Leaves of ``expr`` with whether each is a binary operand (latent types apply)."""
    if isinstance(expr, BinOp):
        _leaves(expr.left, True, out)
        _leaves(expr.right, True, out)
    else:
        out.append((expr, operand))


def program_facts(program: Program, globals_: set[str], latent: Any) -> dict[str, Any]:
    """The metadata columns of one program, computed from its AST alone."""
    leaves_of = []
    for st in program.statements:
        leaves: list[tuple[Expr, bool]] = []
        _leaves(st.value, False, leaves)
        leaves_of.append(leaves)
    reads_of = [[e.name for e, _ in leaves if isinstance(e, Var)] for leaves in leaves_of]
    # Backward slice: walk from the print, keeping the last assignment of each needed name.
    needed = {program.output}
    in_slice: set[int] = set()
    for j in range(len(program.statements) - 1, -1, -1):
        target = program.statements[j].target
        if target in needed:
            in_slice.add(j)
            needed.discard(target)
            needed.update(reads_of[j])
    # Longest def-use chain ending at the output's last assignment.
    last_def: dict[str, int] = {}
    chain: list[int] = []
    recall_reads = 0
    for j, st in enumerate(program.statements):
        links = [chain[last_def[name]] for name in reads_of[j] if name in last_def]
        chain.append(1 + max(links, default=0))
        if j in in_slice:
            recall_reads += sum(1 for n in reads_of[j] if n in globals_ and n not in last_def)
        last_def[st.target] = j
    mentions = [st.target for st in program.statements if st.target in globals_]
    mentions += [n for reads in reads_of for n in reads if n in globals_]
    latent_mods = sum(
        1
        for leaves in leaves_of
        for e, operand in leaves
        if operand
        and isinstance(e, Var)
        and not latent.modification(latent.type_of(e.name)).is_identity
    )
    return {
        "n_statements": len(program.statements),
        "max_depth": max(expr_depth(st.value) for st in program.statements),
        "globals_used": len(mentions),
        "global_names": sorted(mentions),
        "noise_statements": len(program.statements) - len(in_slice),
        "dependency_depth": chain[last_def[program.output]] if program.output in last_def else 0,
        "latent_mods": latent_mods,
        "slice_globals": recall_reads,
    }


def verify_dataset(path: str | Path) -> dict[str, SplitReport]:
    """Every problem found, per split (an empty ``problems`` list means all checks hold).

    First every file's sha256 is compared with the manifest's, and each split's row
    count with the manifest's: a replaced or damaged shard is named even if it reads.
    """
    info = open_dataset(path)
    if info.task != "lolameme":
        raise DataError(f"{info.path}: verify checks LoLa/MeMe data sets, not '{info.task}'")
    changed = checksum_problems(info)
    if changed.get(""):
        raise DataError(f"{info.path}: {'; '.join(changed[''])}")
    config = LolamemeConfig.model_validate(info.config())
    latent = latent_config(config)
    gvalues = info.globals()
    gset = set(gvalues)
    local_pool = set(info.manifest.get("locals", []))
    reports: dict[str, SplitReport] = {}
    canon: dict[str, set[str]] = {}
    appearances: Counter[str] = Counter()
    for split in info.splits:
        report = reports[split] = SplitReport()
        mode = "train" if split == "train" else TEST_SPLITS[split][0]
        seen = canon[split] = set()
        for problem in changed.get(split, []):
            report.add(problem)
        try:
            for frame in iter_split(info, split):
                for row in frame.to_dict("records"):
                    i = report.rows
                    report.rows += 1
                    _check_row(row, i, mode, config, latent, gvalues, local_pool, report, seen)
                    if mode == "train":
                        appearances.update(n for n in row["global_names"])
        except DataError as exc:  # a damaged shard: named, and the other splits still checked
            report.add(str(exc))
        if report.rows != info.rows(split):
            report.add(f"{report.rows} rows read, the manifest says {info.rows(split)}")
    for split, texts in canon.items():
        leaked = len(texts & canon.get("train", set())) if split != "train" else 0
        if leaked:
            reports[split].add(f"{leaked} program(s) also occur in train")
    if "train" in reports and gset:
        need = config.global_variables_num_appearance
        short = sorted((appearances.get(g, 0), g) for g in gset if appearances.get(g, 0) < need)
        if short:
            count, name = short[0]
            reports["train"].add(
                f"{len(short)} global(s) appear fewer than {need} times in train "
                f"(e.g. {name}: {count})"
            )
    return reports


def _check_row(
    row: dict[str, Any],
    i: int,
    mode: str,
    config: LolamemeConfig,
    latent: Any,
    gvalues: dict[str, int],
    local_pool: set[str],
    report: SplitReport,
    seen: set[str],
) -> None:
    text = row["program"]
    where = f"row {i}"
    try:
        program = parse(text)
        label = str(evaluate(program, gvalues, latent))
    except Exception as exc:  # any failure is a finding, reported with its row
        report.add(f"{where}: cannot parse/evaluate: {exc}")
        return
    if label != row["label"]:
        report.add(f"{where}: label {row['label']!r} but the interpreter says {label!r}")
    lola = render(program, "lola")
    if lola in seen:
        report.add(f"{where}: duplicate program {lola!r}")
    seen.add(lola)
    language = row["language"]
    if language in ("lola", "meme") and render(program, language) != text:
        report.add(f"{where}: language '{language}' but the text is not pure {language}")
    facts = program_facts(program, set(gvalues), latent)
    facts["n_chars"] = len(text)
    for key, value in facts.items():
        stored = row.get(key)
        if key == "global_names":
            stored = sorted(stored) if stored is not None else None
        if stored is not None and stored != value:
            report.add(f"{where}: {key}={stored!r} but the program gives {value!r}")
    targets = [st.target for st in program.statements]
    names = set(targets) | {n for st in program.statements for n in expr_names(st.value)}
    if mode == "none" and names & set(gvalues):
        report.add(f"{where}: mentions global(s) {sorted(names & set(gvalues))}")
    if mode == "recall":
        assigned = [t for t in targets if t in gvalues]
        if assigned:
            report.add(f"{where}: assigns global(s) {assigned}")
        if facts["slice_globals"] == 0:
            report.add(f"{where}: the printed value needs no global")
    if mode == "train":
        for st in program.statements:
            if st.target in gvalues and st.value != Num(gvalues[st.target]):
                report.add(f"{where}: global {st.target} assigned something other than its value")
    strangers = {n for n in names - set(gvalues) if local_pool and n not in local_pool}
    if strangers:
        report.add(f"{where}: names outside the local pool: {sorted(strangers)}")
    if len(program.statements) != config.statement_count:
        report.add(
            f"{where}: {len(program.statements)} statements, config says {config.statement_count}"
        )
