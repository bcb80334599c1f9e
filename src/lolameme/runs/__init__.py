"""The contracts between training, evaluation, experiments and reporting.

A package below ``training`` and ``evaluation`` (which never import each other) and
above ``data`` and ``models``, holding what more than one of them must agree on:

- :mod:`~lolameme.runs.tokenizer`, :mod:`~lolameme.runs.batching`: how rows become
  tokens and batches (the codec a run was trained with decodes its predictions);
- :mod:`~lolameme.runs.precision`: the numeric precision per device;
- :mod:`~lolameme.runs.layout`: the file names of a training run's directory and of an
  experiment's, and the results table's columns (no imports: reporting reads them too);
- :mod:`~lolameme.runs.checkpoint`, :mod:`~lolameme.runs.directory`: writing and
  loading a run's checkpoints and ``run.json`` (``lolameme train`` writes them,
  ``lolameme eval`` and the experiments read them back).

Nothing is exported here: ``import lolameme.runs`` loads no torch.
"""
