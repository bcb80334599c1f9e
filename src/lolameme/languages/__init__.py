"""LoLa and MeMe: two spellings of one tiny arithmetic language, and its interpreter.

A program is a few assignments ending in a print (``a = 7;b = (a * 3);print(b)``). LoLa
writes it with ``+ - * %``, ``( )`` and camelCase names; MeMe with ``| ! @ /``, ``{ }`` and
snake_case names; mixed text may switch dialect at every name, operator and bracket pair.
The normative rules, and our choices where the paper is silent, are in ``docs/languages.md``.

The package is the ground truth of the whole project and depends on the standard library
only:

- :mod:`.ast`: the dialect-free program (names in canonical LoLa spelling);
- :func:`render` writes a program in a dialect; :func:`parse` reads any mix back;
- :func:`evaluate` runs it with latent types (:class:`LatentConfig`), producing labels;
- :func:`to_lola` / :func:`to_meme` translate text; :mod:`.names` is the spelling bijection.
"""

from lolameme.languages.ast import Assign, BinOp, Expr, Num, Op, Program, Var
from lolameme.languages.errors import (
    EvaluationError,
    InvalidNameError,
    ModuloByZeroError,
    ParseError,
    UnassignedNameError,
    ValueTooLargeError,
)
from lolameme.languages.interpreter import MAX_VALUE_BITS, evaluate, format_int, run
from lolameme.languages.latent import BASE_LATENT, NO_LATENT, LatentConfig, Modification
from lolameme.languages.names import letter_count, to_lola_name, to_meme_name
from lolameme.languages.parser import MAX_NESTING, parse
from lolameme.languages.render import DIALECTS, Dialect, RenderError, render
from lolameme.languages.translate import to_lola, to_meme

__all__ = [
    "BASE_LATENT",
    "DIALECTS",
    "MAX_NESTING",
    "MAX_VALUE_BITS",
    "NO_LATENT",
    "Assign",
    "BinOp",
    "Dialect",
    "EvaluationError",
    "Expr",
    "InvalidNameError",
    "LatentConfig",
    "Modification",
    "ModuloByZeroError",
    "Num",
    "Op",
    "ParseError",
    "Program",
    "RenderError",
    "UnassignedNameError",
    "ValueTooLargeError",
    "Var",
    "evaluate",
    "format_int",
    "letter_count",
    "parse",
    "render",
    "run",
    "to_lola",
    "to_lola_name",
    "to_meme",
    "to_meme_name",
]
