"""Reports from experiment result files only (never the training or model code).

``results`` is the directory layout shared with the runner; ``aggregate`` turns rows into
``mean (std)``; ``tables``, ``figures``, ``verdicts`` and ``breakdown`` build each part;
``report.write_report(DIR)`` writes ``report.md``, ``report.json`` and ``figures/``.
"""
