"""The paper's experiments as declarative specs, expanded into grids and run resumably.

- ``spec``: the pydantic schema of a spec (``spec.at(scale)``: resolved at one scale);
  ``spec_loader``: finds, merges and validates the shipped YAML specs;
- ``grid``: a spec at one scale and a ``Selection`` -> cells (model x setting x seed);
- ``cell``: one cell: generate its data, train, evaluate, record a row;
- ``store``: per-cell records and ``results.parquet``; ``engines``: local pool or Ray;
- ``runner``: ``lolameme experiment run``.

Entry point: :func:`lolameme.experiments.runner.run_experiment`.
"""
