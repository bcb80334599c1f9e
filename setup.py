"""Build hook: compile the data generator's hot loop with Cython where a C compiler exists.

Everything else about the package is in ``pyproject.toml``.
``lolameme/data/tasks/lolameme/sampler.py`` is plain Python and stays the one source: this
script compiles a copy of it, named ``lolameme.data.tasks.lolameme._sampler_c``, with the C
types of ``sampler.pxd`` for its loop counters, and the sha256 of the text it was compiled
from. :mod:`lolameme.data.tasks.lolameme.compiled` loads the compiled copy only while that
hash matches the ``sampler.py`` next to it, so an edited source never runs stale compiled
code (``pip install -e .`` rebuilds it). Without Cython
or a compiler the package installs as pure Python: same data, slower generation
(``benchmarks/bench_generate.py`` measures both).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCE = Path("src/lolameme/data/tasks/lolameme/sampler.py")
DECLARATIONS = SOURCE.with_suffix(".pxd")
# Under its package path, so that Cython finds the .pxd beside it by module name.
BUILD_ROOT = Path("build/cython")
MODULE = "lolameme.data.tasks.lolameme._sampler_c"
COPY = BUILD_ROOT.joinpath(*MODULE.split(".")).with_suffix(".py")
DIRECTIVES = {
    "language_level": 3,
    # Type hints stay hints: read as C declarations they clash with the .pxd's, which
    # are the only C types.
    "annotation_typing": False,
}


class OptionalBuildExt(build_ext):
    """Any failure of the build (no compiler, a failed compile) is a warning, not a
    failed install: the pure module is used (checked with ``CC=/bin/false``)."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # any compiler failure means "pure Python"
            self.warn(f"lolameme: not compiling the sampler ({exc}); using pure Python")


def extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    text = SOURCE.read_bytes()
    COPY.parent.mkdir(parents=True, exist_ok=True)
    for package in COPY.relative_to(BUILD_ROOT).parents[:-1]:  # each package on the path
        (BUILD_ROOT / package / "__init__.py").touch()
    digest = hashlib.sha256(text).hexdigest()
    COPY.write_bytes(text + f'\nSOURCE_SHA256 = "{digest}"\n'.encode())
    if DECLARATIONS.exists():
        COPY.with_suffix(".pxd").write_bytes(DECLARATIONS.read_bytes())
    ext = Extension(MODULE, [str(COPY)], optional=True)
    return cythonize([ext], compiler_directives=DIRECTIVES, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
