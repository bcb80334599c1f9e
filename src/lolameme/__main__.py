"""``python -m lolameme`` runs the same CLI as the ``lolameme`` console script."""

from lolameme.cli import main

main()
