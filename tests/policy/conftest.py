"""Fixtures for the policy gateway: the shipped policy set, an engine, editable copies."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from service.policy.engine import PolicyEngine
from service.policy.policy_set import PolicySet
from tests.policy.builders import SHIPPED


@pytest.fixture(scope="session")
def shipped_set() -> PolicySet:
    return PolicySet.load(SHIPPED)


@pytest.fixture(scope="session")
def policy_engine(shipped_set: PolicySet) -> PolicyEngine:
    return PolicyEngine(shipped_set)


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped policy directory, to edit."""
    target = tmp_path / "policies"
    shutil.copytree(SHIPPED, target)
    return target


Edit = Callable[[str, str, str], Path]


@pytest.fixture
def edit(policy_copy: Path) -> Edit:
    """Replace ``old`` by ``new`` (exactly once) in one file of the copy; returns the file."""

    def change(relative: str, old: str, new: str) -> Path:
        path = policy_copy / relative
        text = path.read_text()
        assert text.count(old) == 1, f"{old!r} not exactly once in {relative}"
        path.write_text(text.replace(old, new))
        return path

    return change
