"""Mixers and whole models from outside the package: import paths and entry points.

Anywhere a spec names a mixer it may name

- a registered mixer (``hyena``, see :data:`lolameme.models.mixers.MIXERS`);
- any importable :class:`~lolameme.models.mixers.base.Mixer` subclass as
  ``module.path:ClassName``, resolved with :func:`pkgutil.resolve_name` (as zoology
  loads its mixers), e.g. ``attention,my_pkg.mixers:GatedDelta*3``;
- a short name that an installed distribution registers in the entry-point group
  ``lolameme.mixers`` (``[project.entry-points."lolameme.mixers"]`` in its
  ``pyproject.toml``: ``gated_delta = "my_pkg.mixers:GatedDelta"``).

A whole spec may instead be the import path of a *model builder*, as mad-lab takes any
``nn.Module``: a callable ``(vocab_size, max_seq_len, scale) -> nn.Module`` whose module
maps token ids (B, L) to logits (B, L, V). The resolved object decides which one a path
is: a ``Mixer`` subclass is a mixer; any other callable is a builder, and must then be
the whole spec (no ``@WIDTH``, ``*COUNT`` or other items).

Runs record the import path (never a short name that only this process knows), so
``eval``, ``predict``, ``export``, a resume and experiments rebuild the model in a fresh
process as long as the module is importable there (installed, or on ``PYTHONPATH``).
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from typing import Any

from lolameme.models.config import SpecError
from lolameme.models.mixers import MIXERS, Mixer

ENTRY_POINT_GROUP = "lolameme.mixers"


def is_import_path(name: str) -> bool:
    """``module.path:Name`` (the colon is what tells a path from a registry name)."""
    return ":" in name


def import_object(path: str, *, where: str) -> Any:
    """The object ``path`` names; any failure becomes one SpecError that starts with
    ``where`` (``spec 'a,b'``, ``layer 1``) and names the path and the reason."""
    try:
        return pkgutil.resolve_name(path)
    except Exception as exc:  # user code: a missing module, a typo, an error on import
        reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
        if isinstance(exc, ModuleNotFoundError):
            reason += " (install it, or put its folder on PYTHONPATH)"
        raise SpecError(f"{where}: cannot import '{path}': {reason}") from None


def entry_point_mixers() -> dict[str, str]:
    """Short name -> import path of every mixer installed distributions register."""
    from importlib.metadata import entry_points

    return {ep.name.lower(): ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def import_path_of(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _mixer_class(obj: Any, path: str, where: str) -> type[Mixer]:
    if isinstance(obj, type) and issubclass(obj, Mixer):
        return obj
    what = obj.__name__ if isinstance(obj, type) else type(obj).__name__
    hint = (
        "; a model builder (vocab_size, max_seq_len, scale) -> nn.Module must be the whole spec"
        if callable(obj) and not isinstance(obj, type)
        else ""
    )
    raise SpecError(
        f"{where}: '{path}' is not a Mixer subclass (it is {what!r}); a mixer "
        f"subclasses lolameme.models.Mixer{hint}"
    )


def resolve_mixer(name: str, *, where: str) -> tuple[type[Mixer], str]:
    """The mixer class ``name`` means, and what a saved config records for it; errors
    start with ``where``.

    The record is the registry name for the package's own mixers, and an import path
    for everything else: a path as given, an entry point's target, or the class of a
    mixer registered into :data:`MIXERS` at run time from another module (so its runs
    still rebuild in a fresh process).
    """
    if is_import_path(name):
        return _mixer_class(import_object(name, where=where), name, where), name
    cls = MIXERS.get(name)
    if cls is not None:
        # (a class from __main__ or a function body cannot be imported again: keep the name)
        unimportable = cls.__module__ == "__main__" or "<locals>" in cls.__qualname__
        keep_name = cls.__module__.startswith("lolameme.") or unimportable
        return cls, name if keep_name else import_path_of(cls)
    target = entry_point_mixers().get(name.lower())
    if target is not None:
        return _mixer_class(import_object(target, where=where), target, where), target
    raise SpecError(f"{where}: unknown mixer '{name}'; {valid_mixers()}")


def valid_mixers() -> str:
    names = sorted(set(MIXERS) | set(entry_point_mixers()))
    return f"valid mixers: {', '.join(names)}, or any module.path:MixerClass"


def model_builder(spec: str) -> Callable[..., Any] | None:
    """The builder a whole-spec import path names, or None when ``spec`` is anything else
    (a preset, a pattern, or the path of a mixer class)."""
    text = spec.strip()
    if not is_import_path(text) or any(c in text for c in ",@*"):
        return None
    obj = import_object(text, where=f"spec '{text}'")
    if isinstance(obj, type) and issubclass(obj, Mixer):
        return None
    if not callable(obj):
        raise SpecError(
            f"spec '{text}': '{text}' is neither a Mixer subclass nor a callable "
            f"(vocab_size, max_seq_len, scale) -> nn.Module (it is {type(obj).__name__!r})"
        )
    return obj
