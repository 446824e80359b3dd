"""``python -m hpsearch.cli`` is the ``hpsearch`` command."""

from hpsearch.cli import main

main()
