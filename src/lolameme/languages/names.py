"""One variable, two spellings: the LoLa (camelCase) <-> MeMe (snake_case) bijection.

A variable is a lowercase ASCII word plus a set of word-break positions (never position 0).
LoLa writes a break as an upper-case letter (``xnBolt``), MeMe as ``_`` before a lowercase
letter (``xn_bolt``). The canonical form used everywhere in the package is the LoLa
spelling: it is a plain string, one character per letter, so it is the cheapest dictionary
key. Conversions are cached because a data set reuses a small pool of names millions of
times and rendering must stay fast.
"""

from __future__ import annotations

import re

from lolameme.languages.errors import InvalidNameError

RESERVED = frozenset({"print"})

_LOLA_RE = re.compile(r"[a-z][a-zA-Z]*\Z")
_MEME_RE = re.compile(r"[a-z]+(?:_[a-z]+)*\Z")
_UPPER_RE = re.compile(r"[A-Z]")
_UNDERSCORE_RE = re.compile(r"_([a-z])")

# Caches of names already validated/converted. A data set uses a bounded pool of names;
# the caches are cleared if they ever grow past _CACHE_LIMIT so that rendering millions of
# random names cannot leak memory.
_CACHE_LIMIT = 1 << 18
_TO_MEME: dict[str, str] = {}
_TO_LOLA: dict[str, str] = {}


def _reason(name: str) -> str:
    """Why ``name`` is neither a LoLa nor a MeMe spelling (the first problem found)."""
    if not name:
        return "a name cannot be empty"
    if name in RESERVED:
        return "'print' is reserved"
    first = name[0]
    if first == "_":
        return "a name must start with a lowercase letter, not '_'"
    if first.isupper():
        return "a name must start with a lowercase letter, not an upper-case one"
    if not first.isascii() or not first.isalpha():
        return "a name must start with a lowercase ASCII letter"
    bad = next((c for c in name if not (c.isascii() and (c.isalpha() or c == "_"))), None)
    if bad is not None:
        return f"a name holds ASCII letters and '_' only, found {bad!r}"
    if "_" in name and _UPPER_RE.search(name):
        return "a name is spelt either LoLa (camelCase) or MeMe (snake_case), not both"
    if "__" in name:
        return "MeMe names cannot contain '__'"
    if name.endswith("_"):
        return "MeMe names cannot end with '_'"
    return "every '_' must be followed by a lowercase letter"  # pragma: no cover - defensive


def is_lola_name(name: str) -> bool:
    """True for a valid LoLa (canonical) spelling such as ``xnBolt``."""
    return _LOLA_RE.match(name) is not None and name not in RESERVED


def is_meme_name(name: str) -> bool:
    """True for a valid MeMe spelling such as ``xn_bolt``."""
    return _MEME_RE.match(name) is not None and name not in RESERVED


def check_lola_name(name: str) -> str:
    """Return ``name`` if it is a valid canonical (LoLa) spelling, else raise."""
    if name in _TO_MEME:
        return name
    to_meme_name(name)
    return name


def to_meme_name(name: str) -> str:
    """``xnBolt`` -> ``xn_bolt``. Raises :class:`InvalidNameError` for a non-LoLa spelling."""
    try:
        return _TO_MEME[name]
    except KeyError:
        pass
    if not is_lola_name(name):
        if is_meme_name(name):
            raise InvalidNameError(name, "this is a MeMe spelling; expected LoLa (camelCase)")
        raise InvalidNameError(name, _reason(name))
    meme = _UPPER_RE.sub(lambda m: "_" + m.group(0).lower(), name)
    if len(_TO_MEME) >= _CACHE_LIMIT:
        _TO_MEME.clear()
    _TO_MEME[name] = meme
    return meme


def to_lola_name(name: str) -> str:
    """``xn_bolt`` -> ``xnBolt``; a LoLa spelling is returned unchanged (both are canonical).

    Accepting either spelling makes this the one function that canonicalises a name read
    from mixed text or a user's globals file.
    """
    try:
        return _TO_LOLA[name]
    except KeyError:
        pass
    if is_lola_name(name):
        lola = name
    elif is_meme_name(name):
        lola = _UNDERSCORE_RE.sub(lambda m: m.group(1).upper(), name)
    else:
        raise InvalidNameError(name, _reason(name))
    if len(_TO_LOLA) >= _CACHE_LIMIT:
        _TO_LOLA.clear()
    _TO_LOLA[name] = lola
    return lola


def letter_count(name: str) -> int:
    """The name's length in letters (MIN/MAX_VAR_LENGTH count letters, not ``_``)."""
    return len(name) - name.count("_")
