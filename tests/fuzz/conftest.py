"""The OpenAPI fuzzer runs only when asked for (``pytest -m fuzz``, a line of ``.ci/run``): it
takes a minute or two per backend, and the main run should not pay for it twice."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: the schemathesis fuzzer (run with -m fuzz)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "fuzz" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="the fuzzer runs on its own: pytest -m fuzz tests/fuzz")
    for item in items:
        if item.get_closest_marker("fuzz") is not None:
            item.add_marker(skip)
