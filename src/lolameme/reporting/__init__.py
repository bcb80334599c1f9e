"""Reports from experiment result files only (never the training or model code).

``results`` reads the files of an experiment directory (laid out in
:mod:`lolameme.runs.layout`); ``aggregate`` turns rows into
``mean (std)``; ``tables``, ``figures``, ``verdicts`` and ``breakdown`` build each part;
``report.write_report(DIR)`` writes ``report.md``, ``report.json`` and ``figures/``.
"""
