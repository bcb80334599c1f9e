"""Lazy package exports (PEP 562): the one way a package ``__init__`` names its API.

A package lists ``{name: module}`` (or ``{name: "module:attribute"}`` where the public
name differs from the module's) and gets ``__all__`` and a module ``__getattr__``
that imports a name's module on first use, so that ``import lolameme.models`` (and
``lolameme --help``) does not load torch or pandas. Type checkers read the package's
``if TYPE_CHECKING:`` imports instead.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[list[str], Callable[[str], Any]]:
    """``(__all__, __getattr__)`` for ``package``, whose names live in ``exports``' modules.

    A name is imported once: its value is then kept in the package's namespace.
    """

    def __getattr__(name: str) -> Any:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        module, _, attribute = target.partition(":")
        value = getattr(importlib.import_module(module), attribute or name)
        setattr(sys.modules[package], name, value)
        return value

    return sorted(exports), __getattr__
