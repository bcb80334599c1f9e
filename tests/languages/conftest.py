"""Hypothesis strategies for random programs, shared by the languages tests.

Tests run with ``--import-mode=importlib``, where a test module cannot import a sibling
helper module, so the strategies are handed out by a session fixture and drawn with
``st.data()``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import pytest
from hypothesis import strategies as st

from lolameme.languages.ast import Assign, BinOp, Expr, Num, Op, Program, Var


def _camel(word_and_breaks: tuple[str, list[bool]]) -> str:
    word, breaks = word_and_breaks
    return word[0] + "".join(
        c.upper() if brk else c for c, brk in zip(word[1:], breaks, strict=False)
    )


# Any canonical (LoLa) name: a lowercase word with word breaks anywhere but position 0.
lola_names: st.SearchStrategy[str] = (
    st.text(string.ascii_lowercase, min_size=1, max_size=10)
    .flatmap(
        lambda w: st.tuples(
            st.just(w), st.lists(st.booleans(), min_size=len(w) - 1, max_size=len(w) - 1)
        )
    )
    .map(_camel)
    .filter(lambda n: n != "print")
)

# A small pool for evaluation tests, so that names are reused and assignments matter. It
# covers every latent type of the base config (x, y, z are type B) and both spellings' edges.
POOL = ("a", "bC", "mxMlpAi", "wq", "xnBolt", "xYBr", "yI", "zG", "zjEy", "kNd")


def expressions(
    names: st.SearchStrategy[str], ints: st.SearchStrategy[int], max_leaves: int = 8
) -> st.SearchStrategy[Expr]:
    leaves = st.one_of(names.map(Var), ints.map(Num))
    return st.recursive(
        leaves,
        lambda inner: st.builds(BinOp, st.sampled_from(list(Op)), inner, inner),
        max_leaves=max_leaves,
    )


def programs(
    names: st.SearchStrategy[str], ints: st.SearchStrategy[int], max_statements: int = 6
) -> st.SearchStrategy[Program]:
    statement = st.builds(Assign, names, expressions(names, ints))
    return st.builds(Program, st.lists(statement, max_size=max_statements).map(tuple), names)


@dataclass(frozen=True)
class Strategies:
    lola_names: st.SearchStrategy[str]
    any_programs: st.SearchStrategy[Program]
    pool_programs: st.SearchStrategy[Program]
    pool: tuple[str, ...]


@pytest.fixture(scope="session")
def strategies() -> Strategies:
    return Strategies(
        lola_names=lola_names,
        any_programs=programs(lola_names, st.integers(0, 10**12)),
        pool_programs=programs(st.sampled_from(POOL), st.integers(0, 12)),
        pool=POOL,
    )
