"""LOLAMEME: synthetic languages with known rules for measuring language-model architectures.

The package is layered; each subpackage owns one concern and imports only downwards
(checked by ``lint-imports``; see docs/architecture.md):

    experiments
    reporting : training : evaluation   (training and evaluation independent)
    runs                                (codec, checkpoints, run and result layouts)
    models | data
    languages                           (standard library only)
"""

__version__ = "0.1.0"
