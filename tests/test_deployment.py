"""The deployment files: the wheel the image installs carries migrations and policies, the
build context leaves secrets out, the image installs no source tree and runs unprivileged,
and compose runs a migration then two replicas sharing the database and the KEK."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """Liaison's wheel, built as the Dockerfile's first stage builds it (without deps)."""
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source")
    # A copy of what the build stage copies, so the build leaves nothing in the checkout.
    for name in ("pyproject.toml", "README.md", "service", "migrations", "policies"):
        path = ROOT / name
        if path.is_dir():
            subprocess.run(["cp", "-r", str(path), str(source / name)], check=True)
        else:
            (source / name).write_bytes(path.read_bytes())
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--wheel-dir", str(out), "."],
        cwd=source,
        check=True,
    )
    [built] = out.glob("liaison-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_migrations_policies_and_the_command(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "service/migrations/env.py" in names
    assert any(fnmatch(n, "service/migrations/versions/0001_*.py") for n in names)
    assert "service/policies/schema.cedarschema" in names
    assert any(fnmatch(n, "service/policies/*.cedar") for n in names)
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "liaison = service.cli.main:main" in wheel.read(entry_points).decode()
    # every sub-package of the checkout (pyproject lists them) and the console's assets
    for init in sorted((ROOT / "service").rglob("__init__.py")):
        assert init.relative_to(ROOT).as_posix() in names, "add it to [tool.setuptools] packages"
    assert "service/console/static/index.html" in names
    assert "service/console/static/js/protocol.js" in names
    # nothing but the package and its metadata
    assert {n.split("/")[0] for n in names} <= {
        "service",
        *(n.split("/")[0] for n in names if ".dist-info/" in n),
    }


def _ignored(patterns: list[str], path: str) -> bool:
    """Whether .dockerignore ``patterns`` leave ``path`` out: a pattern matching the path or
    one of its directories; ``**/`` matches at any depth (no ``!`` rules here)."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        bare = pattern.rstrip("/")
        for prefix in prefixes:
            if fnmatch(prefix, bare):
                return True
            if bare.startswith("**/") and fnmatch(prefix.rsplit("/", 1)[-1], bare[3:]):
                return True
    return False


def test_the_build_context_leaves_secrets_and_environments_out() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert not any(p.startswith("!") for p in patterns)
    for path in (
        "liaison-data/admin.jwk",
        "liaison-data/kek.key",
        "data/liaison.db",
        "somewhere/agency.sign.jwk",
        "kek.key",
        ".venv/bin/python",
        ".git/config",
        "service/__pycache__/app.cpython-312.pyc",
        "bench/results.json",
    ):
        assert _ignored(patterns, path), path
    for path in ("service/app.py", "migrations/env.py", "policies/tlp.cedar", "pyproject.toml"):
        assert not _ignored(patterns, path), path


def _instructions(stage: str) -> list[tuple[str, str]]:
    joined = stage.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest))
    return found


def test_the_image_installs_only_the_wheel_and_runs_unprivileged() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = [s for s in text.split("\nFROM ")[1:]]
    assert len(stages) == 2, "a build stage and a runtime stage"
    build, final = _instructions("FROM " + stages[0]), _instructions("FROM " + stages[1])
    assert any(k == "RUN" and "pip wheel" in r for k, r in build)
    runs = " ".join(r for k, r in final if k == "RUN")
    assert "pip install" in runs and "--no-index" in runs
    assert " -e " not in text and "--editable" not in text
    assert not [r for k, r in final if k in ("COPY", "ADD") and "--from" not in r]
    [user] = [r for k, r in final if k == "USER"]
    assert user.strip() not in ("root", "0")
    assert any(k == "VOLUME" and "/data" in r for k, r in final)
    [check] = [r for k, r in final if k == "HEALTHCHECK"]
    probe = json.loads(check[check.index("CMD") + 3 :].strip())
    assert probe[:2] == ["python", "-c"]
    compile(probe[2], "healthcheck", "exec")
    assert "cafile" in probe[2] and "/v1/ready" in probe[2]
    [cmd] = [r for k, r in final if k == "CMD"]
    assert "liaison serve" in " ".join(shlex.split(" ".join(json.loads(cmd))))


def test_compose_migrates_then_runs_two_replicas_on_one_database_and_kek() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["migrate"]["command"] == ["liaison", "db", "upgrade"]
    replicas = [name for name in services if name.startswith("liaison-")]
    assert len(replicas) == 2
    for name in replicas:
        replica = services[name]
        assert replica["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "kek" in replica["secrets"]
        compile(replica["healthcheck"]["test"][3], "healthcheck", "exec")
    assert compose["secrets"]["kek"] == {"file": "./secrets/kek.key"}
    assert "synchronous_commit=on" in services["postgres"]["command"]
