"""Governance tests use the alert-exchange fixtures."""

from tests.alerts.conftest import member

__all__ = ["member"]
