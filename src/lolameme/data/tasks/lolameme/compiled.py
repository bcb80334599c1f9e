"""Which implementation of :mod:`lolameme.data.tasks.lolameme.sampler` the generator runs.

``sampler.py`` is plain Python and the only source. Where the install had Cython and a C
compiler, ``setup.py`` also built ``lolameme.data.tasks.lolameme._sampler_c`` from a copy
of it (a full ``generate`` about 2.2x faster per worker, ``benchmarks/bench_generate.py``).
Both give byte-identical data sets (``tests/data/test_compiled.py``), so the choice
changes speed, never output.

The compiled copy carries the sha256 of the text it was built from and is used only
while that matches ``sampler.py``: after an edit of the source the pure module runs
until the next ``pip install -e .``. ``LOLAMEME_PURE_PYTHON=1`` forces the pure module.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import warnings
from functools import cache
from pathlib import Path
from types import ModuleType

from lolameme.data.tasks.lolameme import sampler

PURE_ENV = "LOLAMEME_PURE_PYTHON"


@cache
def compiled_sampler() -> ModuleType | None:
    """The compiled sampler if it exists and matches ``sampler.py``, else None."""
    try:
        _sampler_c = importlib.import_module("lolameme.data.tasks.lolameme._sampler_c")
    except ImportError:
        return None
    built_from = getattr(_sampler_c, "SOURCE_SHA256", None)
    try:
        current = hashlib.sha256(Path(sampler.__file__).read_bytes()).hexdigest()
    except OSError:  # no source file next to the package: trust the build
        return _sampler_c
    if built_from != current:
        warnings.warn(
            "lolameme: the compiled sampler was built from another version of "
            "data/tasks/lolameme/sampler.py; using the pure Python one "
            "(run 'pip install -e .' to rebuild it)",
            stacklevel=2,
        )
        return None
    return _sampler_c


def sampler_module() -> ModuleType:
    """The sampler to run: compiled when available and current, unless
    ``LOLAMEME_PURE_PYTHON`` is set to a non-empty value other than ``0``."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return sampler
    return compiled_sampler() or sampler
