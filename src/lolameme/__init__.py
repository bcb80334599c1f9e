"""LOLAMEME: synthetic languages with known rules for measuring language-model architectures.

The package is layered; each subpackage owns one concern and imports only downwards:

    languages (stdlib only) <- data <- training / evaluation -> models
    experiments orchestrate all of them; reporting reads result files only.
"""

__version__ = "0.1.0"
