"""``python -m bench all``: the whole-path suite (an alias of ``bench.suite``)."""

from bench.suite import add_arguments, main

__all__ = ["add_arguments", "main"]
