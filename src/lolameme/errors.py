"""The one exception family the CLI turns into a single ``error: ...`` line.

Every failure a user can cause (a malformed program, a bad config, a missing file)
is raised as a :class:`LolamemeError` subclass with a message that names the field,
the position or the path. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class LolamemeError(Exception):
    """Base class of user-facing errors: the message is shown alone, without traceback."""


class ConfigError(LolamemeError):
    """A configuration value is missing, unknown or out of range."""


class DataError(LolamemeError):
    """A data directory is missing, incomplete or inconsistent."""


def format_validation_error(exc: Exception, *, what: str = "config") -> str:
    """Render a pydantic ``ValidationError`` as one line naming the first bad field.

    Kept free of a pydantic import so that the languages layer can use this module.
    """
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    items = errors()
    if not items:
        return f"invalid {what}"
    first = items[0]
    loc = ".".join(str(part) for part in first.get("loc", ())) or "<root>"
    msg = first.get("msg", "invalid value")
    if first.get("type") == "extra_forbidden":
        msg = "unknown key (check the spelling)"
    more = f" (and {len(items) - 1} more problem(s))" if len(items) > 1 else ""
    return f"invalid {what}: field '{loc}': {msg}{more}"


class TrainingError(LolamemeError):
    """A run cannot start or continue: incompatible resume, diverged loss, bad run directory."""


class OutputError(LolamemeError):
    """An output path cannot be written: not ours to replace, under a file, not writable."""
