"""The paper's experiments as declarative specs, expanded into grids and run resumably.

- ``spec``: the pydantic schema of a spec; ``registry``: the shipped YAML specs;
- ``grid``: a spec at one scale -> cells (model x data setting x seed);
- ``cell``: one cell (the only module calling data generation, training, evaluation);
- ``store``: per-cell records and ``results.parquet``; ``engines``: local pool or Ray;
- ``runner``: ``lolameme experiment run``.

Entry point: :func:`lolameme.experiments.runner.run_experiment`.
"""
