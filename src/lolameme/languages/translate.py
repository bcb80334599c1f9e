"""Text-to-text translation between dialects: parse (any mix), then render.

Because both dialects share one AST and the spellings are a bijection, translation is
exact: ``to_lola(to_meme(t)) == to_lola(t)`` and the program's meaning never changes.
"""

from __future__ import annotations

from lolameme.languages.parser import parse
from lolameme.languages.render import render


def to_lola(text: str) -> str:
    """The program in ``text`` (LoLa, MeMe or mixed) written in LoLa."""
    return render(parse(text), "lola")


def to_meme(text: str) -> str:
    """The program in ``text`` (LoLa, MeMe or mixed) written in MeMe."""
    return render(parse(text), "meme")
