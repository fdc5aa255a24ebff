"""Liaison's wire formats: everything a partner or an auditor needs to speak to the broker.

Pure: this package imports no web framework, database layer, settings or policy engine, and
nothing of the server's packages (the import contract in ``.importlinter`` enforces it).
"""
