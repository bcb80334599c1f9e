"""The paper's claims, answered from our numbers: ``yes``, ``no`` or ``inconclusive``.

A verdict is never asserted: it is computed from the results and states the numbers it
rests on. Two models differ only when their ``mean +- std`` bands over seeds do not
overlap; otherwise the answer is ``inconclusive``. Where a claim spans several settings
(every name length, both languages), each setting is judged and the answers combine:
``yes`` if every setting says yes, ``no`` if any says no, else ``inconclusive``.
"""

from __future__ import annotations

import fnmatch
import itertools
from typing import Any

from lolameme.reporting.aggregate import (
    Stat,
    axis_values,
    compare,
    display_name,
    stat,
    where,
)

YES, NO, INCONCLUSIVE, NO_DATA = "yes", "no", "inconclusive", "no data"
MAX_EVIDENCE = 8


def combine(answers: list[str]) -> str:
    """Judgements of several comparisons or settings as one answer."""
    judged = [a for a in answers if a != NO_DATA]
    if not judged:
        return NO_DATA
    if NO in judged:
        return NO
    if all(a == YES for a in judged) and len(judged) == len(answers):
        return YES
    return INCONCLUSIVE


def _judge(comparisons: list[str], want: str = "above") -> str:
    if any(c == ("below" if want == "above" else "above") for c in comparisons):
        return NO
    return YES if all(c == want for c in comparisons) else INCONCLUSIVE


def _models(patterns: list[str], models: list[str]) -> list[str]:
    """The models a verdict names: a model's exact name, else a glob (``thex-*``).

    Exact names come first because model specs contain ``*`` themselves: as a glob,
    ``base_conv@64*4`` would also match ``base_conv@64*2,sparse_attention@64,base_conv@64``.
    """
    return [
        m
        for m in models
        if any(m == p or (p not in models and fnmatch.fnmatch(m, p)) for p in patterns)
    ]


def _groups(spec: dict[str, Any], pinned: set[str]) -> list[dict[str, Any]]:
    """One filter per combination of the axes a verdict leaves free."""
    free = [a["name"] for a in spec.get("axes", []) if a["name"] not in pinned]
    if spec.get("select_best"):
        free = [a for a in free if a != spec["select_best"]["axis"]]
    values = [axis_values(spec, a) for a in free]
    return [dict(zip(free, combo, strict=True)) for combo in itertools.product(*values)]


def _setting(group: dict[str, Any]) -> str:
    return "[" + ", ".join(f"{k}={v}" for k, v in group.items()) + "] " if group else ""


def _n(s: Stat) -> str:
    return f"{s.fmt()}" if s.n else "no data"


def _beats(v: dict[str, Any], rows: Any, spec: dict[str, Any]) -> tuple[str, list[str], bool]:
    a_models, b_models = _models(v["a"], spec["models"]), _models(v["b"], spec["models"])
    metric, split = v.get("metric", "em"), v.get("split")
    groups = _groups(spec, set(v.get("where", {})))
    answers, evidence, single = [], [], False
    for group in groups:
        sliced = where(where(rows, spec, v.get("where", {})), spec, group)
        stats = {m: stat(sliced, m, metric, split) for m in a_models + b_models}
        single |= any(s.n == 1 for s in stats.values())
        a_have = [m for m in a_models if stats[m].n]
        if not a_have or any(stats[m].n == 0 for m in b_models):
            answers.append(NO_DATA)
            continue
        beats_all = {m: _judge([compare(stats[m], stats[b]) for b in b_models]) for m in a_have}
        if v.get("pick", "best") == "best":
            best = max(a_have, key=lambda m: stats[m].mean)
            answer = beats_all[best]
            lead = f"{display_name(best)} {stats[best].fmt()}"
            if len(a_have) > 1:
                clear = sum(1 for m in a_have if beats_all[m] == YES)
                lead = f"best {lead}"
                extra = f"; {clear} of {len(a_have)} clearly beat all"
            else:
                extra = ""
        else:
            answer = combine(list(beats_all.values()))
            lead = ", ".join(f"{display_name(m)} {stats[m].fmt()}" for m in a_have)
            extra = ""
        others = ", ".join(f"{display_name(b)} {_n(stats[b])}" for b in b_models)
        answers.append(answer)
        suffix = f": {answer}" if len(groups) > 1 else ""
        evidence.append(f"{_setting(group)}{lead} vs {others}{extra}{suffix}")
    return combine(answers), evidence, single


def _change(v: dict[str, Any], rows: Any, spec: dict[str, Any]) -> tuple[str, list[str], bool]:
    before, after = v["before"], v["after"]
    want = "above" if v["kind"] == "falls" else "below"
    models = _models(v.get("models") or spec["models"], spec["models"])
    pinned = set(before.get("where", {})) | set(after.get("where", {}))
    answers, evidence, single = [], [], False
    for group in _groups(spec, pinned):
        for model in models:
            b = stat(
                where(where(rows, spec, before.get("where", {})), spec, group),
                model,
                before.get("metric", "em"),
                before.get("split"),
            )
            a = stat(
                where(where(rows, spec, after.get("where", {})), spec, group),
                model,
                after.get("metric", "em"),
                after.get("split"),
            )
            if not (a.n and b.n):
                answers.append(NO_DATA)
                continue
            single |= a.n == 1 or b.n == 1
            answer = _judge([compare(b, a)], want)
            answers.append(answer)
            evidence.append(
                f"{_setting(group)}{display_name(model)} {b.fmt()} -> {a.fmt()}: {answer}"
            )
    return combine(answers), evidence, single


def gap_share(model: Stat, low: Stat, high: Stat) -> float:
    """The share of the ``low`` -> ``high`` gap that ``model`` closes (means; may be < 0 or > 1)."""
    return (model.mean - low.mean) / (high.mean - low.mean)


def _gap(v: dict[str, Any], rows: Any, spec: dict[str, Any]) -> tuple[str, list[str], bool]:
    metric, split = v.get("metric", "em"), v.get("split")
    names = {"model": v["model"], "low": v["low"], "high": v["high"]}
    answers, evidence, single = [], [], False
    for group in _groups(spec, set(v.get("where", {}))):
        sliced = where(where(rows, spec, v.get("where", {})), spec, group)
        stats = {role: stat(sliced, name, metric, split) for role, name in names.items()}
        if any(s.n == 0 for s in stats.values()):
            answers.append(NO_DATA)
            continue
        single |= any(s.n == 1 for s in stats.values())
        m, low, high = stats["model"], stats["low"], stats["high"]
        sides = (
            f"{display_name(v['low'])} {low.fmt()}, {display_name(v['high'])} {high.fmt()}, "
            f"{display_name(v['model'])} {m.fmt()}"
        )
        gap = high.mean - low.mean
        if gap < v.get("min_gap", 0.05) or compare(high, low) != "above":
            answers.append(INCONCLUSIVE)
            evidence.append(
                f"{_setting(group)}{sides}: the gap ({gap:+.4f}) is too small to be meaningful"
            )
            continue
        share = gap_share(m, low, high)
        answer = YES if share >= v.get("closes", 0.9) else NO
        answers.append(answer)
        evidence.append(f"{_setting(group)}{sides}: closes {share:.1%} of the gap")
    return combine(answers), evidence, single


def _needs(v: dict[str, Any], spec: dict[str, Any]) -> str:
    """The models a verdict compares, for the line that says none of them ran."""
    if v["kind"] == "beats":
        names = _models(v["a"], spec["models"]) + _models(v["b"], spec["models"])
    elif v["kind"] == "gap_closed":
        names = [v["model"], v["low"], v["high"]]
    else:
        names = _models(v.get("models") or spec["models"], spec["models"])
    return "needs " + ", ".join(display_name(m) for m in dict.fromkeys(names))


def compute_verdicts(spec: dict[str, Any], rows: Any) -> list[dict[str, Any]]:
    """Every verdict of ``spec`` judged on ``rows`` (finished cells of that experiment)."""
    out = []
    for v in spec.get("verdicts", []):
        judge = {"beats": _beats, "gap_closed": _gap}.get(v["kind"], _change)
        answer, evidence, single = judge(v, rows, spec)
        if v["kind"] in ("falls", "rises"):
            sides = (
                f"{v['before'].get('label') or 'before'} -> {v['after'].get('label') or 'after'}"
            )
            evidence = [f"({sides})"] + evidence
        if not evidence:  # no setting had the cells to compare
            evidence = [f"no finished cells to compare ({_needs(v, spec)})"]
        shown = evidence[:MAX_EVIDENCE]
        if len(evidence) > MAX_EVIDENCE:
            shown.append(f"... and {len(evidence) - MAX_EVIDENCE} more in report.json")
        caveat = (
            " Single seed: no spread measured, so only ties are inconclusive." if single else ""
        )
        out.append(
            {
                "id": v["id"],
                "question": v["question"],
                "answer": answer,
                "evidence": evidence,
                "line": f"{v['question']} **{answer}**: {'; '.join(shown)}.{caveat}",
            }
        )
    return out
