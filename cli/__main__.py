"""``python -m cli``: the same as the ``pms-relay`` console script."""

from cli import main

main()
