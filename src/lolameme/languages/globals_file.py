"""Reading a user's ``--globals`` file: the one reader behind ``exec`` and ``predict``.

A globals file is a JSON object ``{name: int}``. Names may be spelled in LoLa or MeMe;
they are canonicalised (the LoLa spelling), the form a data set's ``globals.json`` and
the interpreter use, so a MeMe user's table labels the same programs as a LoLa one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lolameme.languages.errors import GlobalsFileError, InvalidNameError
from lolameme.languages.names import to_lola_name


def read_globals_file(path: str | Path) -> dict[str, int]:
    """``{canonical name: int}`` from a JSON file; any fault is one :class:`GlobalsFileError`."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GlobalsFileError(f"globals file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GlobalsFileError(f"globals file {str(path)!r} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise GlobalsFileError(
            f"globals file {str(path)!r} is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError:  # an integer past Python's str -> int digit limit
        raise GlobalsFileError(
            f"globals file {str(path)!r} holds an integer of more than "
            f"{sys.get_int_max_str_digits()} digits (a program's numbers have the same limit)"
        ) from None
    if not isinstance(raw, dict):
        raise GlobalsFileError(
            f"globals file {str(path)!r} must hold a JSON object {{name: int}}, "
            f"got {type(raw).__name__}"
        )
    table: dict[str, int] = {}
    for key, value in raw.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise GlobalsFileError(
                f"globals file {str(path)!r}: value of {key!r} must be an integer, got {value!r}"
            )
        try:
            name = to_lola_name(key)
        except InvalidNameError as exc:
            raise GlobalsFileError(f"globals file {str(path)!r}: {exc}") from None
        if name in table and table[name] != value:
            raise GlobalsFileError(
                f"globals file {str(path)!r}: {key!r} repeats the variable {name!r} "
                "with another value"
            )
        table[name] = value
    return table
