"""The OpenAPI fuzzer runs only when asked for (``pytest -m fuzz``, its own line of
``.ci/run``, which prints its case count): it takes a minute or two per backend, and the
main run should not pay for it twice. Without ``-m fuzz`` its tests are deselected (not
skipped: nothing is reported as passing or skipped that did not run)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: the schemathesis fuzzer (run with -m fuzz)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "fuzz" in (config.option.markexpr or ""):
        return
    fuzz = [item for item in items if item.get_closest_marker("fuzz") is not None]
    if fuzz:
        config.hook.pytest_deselected(items=fuzz)
        items[:] = [item for item in items if item.get_closest_marker("fuzz") is None]
