"""The package's layers: the SDK loads no server code, and no imports go round in a cycle."""

from __future__ import annotations

import json
import subprocess
import sys

import grimp
import pytest

SERVER_LIBRARIES = ("sqlalchemy", "fastapi", "starlette", "alembic", "cedarpy", "pydantic_settings")
SERVER_PACKAGES = (
    "api", "alerts", "audit", "auth", "broker", "cli", "db", "governance", "policy",
    "registry", "app", "operations", "runtime", "settings", "tables",
)  # fmt: skip
COMPOSITION_ROOTS = {"service.app", "service.cli"}


def _modules_loaded_by(statement: str) -> list[str]:
    program = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", program], check=True, capture_output=True, text=True, timeout=60
    )
    return list(json.loads(out.stdout))


@pytest.mark.parametrize("statement", ["import service.client", "import service.client.alerts"])
def test_sdk_loads_no_server_code(statement: str) -> None:
    loaded = _modules_loaded_by(statement)
    assert "service.client" in loaded
    libraries = [m for m in loaded if m.split(".")[0] in SERVER_LIBRARIES]
    server = [m for m in loaded if m.startswith("service.") and m.split(".")[1] in SERVER_PACKAGES]
    assert libraries == []
    assert server == []


def test_protocol_loads_no_server_code() -> None:
    loaded = _modules_loaded_by(
        "import service.protocol.sdjwt, service.protocol.logverify, service.protocol.signatures"
    )
    assert [m for m in loaded if m.split(".")[0] in (*SERVER_LIBRARIES, "httpx")] == []
    assert [m for m in loaded if m.startswith("service.") and m.split(".")[1] != "protocol"] == []


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative: the components with more than one member."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _strongly_connected(edges) == [{"a", "b", "c"}]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # Every import, at any depth in a function or under TYPE_CHECKING, is an edge.
    return grimp.build_graph("service", include_external_packages=False)


def test_no_module_level_cycle(graph: grimp.ImportGraph) -> None:
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _strongly_connected(edges) == []


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def test_no_package_level_cycle_outside_composition_roots(graph: grimp.ImportGraph) -> None:
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        source = _package(module)
        if source in COMPOSITION_ROOTS or source == "service":
            continue
        targets = edges.setdefault(source, set())
        for imported in graph.find_modules_directly_imported_by(module):
            target = _package(imported)
            if target != source and target not in COMPOSITION_ROOTS:
                targets.add(target)
    assert _strongly_connected(edges) == []
