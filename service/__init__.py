"""Liaison: a broker for signed, policy-gated, audited alert sharing between agencies."""

__version__ = "0.1.0"
