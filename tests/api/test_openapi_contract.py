"""The OpenAPI document is the contract: problems, signatures and raw bodies on every
operation, and docs pages that load nothing from outside the app.

``tests/api/test_openapi.py`` checks that every 2xx body is typed; this module checks what
``service.api.openapi.customise_openapi`` adds by rule and what ``service.api.docs`` serves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from service.alerts import schemas as alert_schemas
from service.api.docs import install_docs
from service.api.openapi import (
    SD_JWT_EXAMPLE,
    SD_JWT_PATTERN,
    api_routes,
    customise_openapi,
    is_signed,
)
from service.api.problems import PROBLEMS, problem_type
from service.app import create_app
from service.governance import schemas as governance_schemas
from service.registry import schemas as registry_schemas
from service.settings import Settings

METHODS = {"get", "put", "post", "delete", "patch"}
PROBLEM_REF = "#/components/schemas/Problem"
# docs/protocol.md §3: the only operations a caller may send unsigned.
UNSIGNED = {
    ("get", "/v1/health"),
    ("get", "/v1/ready"),
    ("get", "/v1/broker"),
    ("get", "/v1/audit/checkpoint"),
    ("get", "/v1/schemas/alert.json"),
}
VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors"


def _app(tmp_path: Path, *, docs: bool = True) -> FastAPI:
    """The real app with both functions applied, twice: they must be safe to repeat."""
    app = create_app(Settings(env="test", data_dir=tmp_path / "data"))
    for _ in range(2):
        customise_openapi(app)
        install_docs(app, docs)
    return app


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in sorted(document["paths"].items()):
        for method, operation in sorted(item.items()):
            if method in METHODS:
                yield method, path, operation


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = _app(tmp_path_factory.mktemp("openapi"))
    result: dict[str, Any] = app.openapi()
    assert result["paths"], "the OpenAPI document lists no operations"
    return result


def _problem_response(operation: dict[str, Any], status: int) -> dict[str, Any] | None:
    response = operation["responses"].get(str(status))
    if response is None:
        return None
    content = response.get("content", {})
    assert list(content) == ["application/problem+json"], content
    assert content["application/problem+json"]["schema"] == {"$ref": PROBLEM_REF}
    result: dict[str, Any] = response
    return result


def test_signed_operations_document_401_and_the_signature_scheme(
    document: dict[str, Any],
) -> None:
    scheme = document["components"]["securitySchemes"]["rfc9421"]
    assert scheme["type"] == "apiKey" and scheme["in"] == "header"
    assert scheme["name"] == "Signature"
    assert "Signature-Input" in scheme["description"]
    assert "Content-Digest" in scheme["description"]
    assert "Request signing" in scheme["description"]
    signed = 0
    for method, path, operation in _operations(document):
        if (method, path) in UNSIGNED:
            assert "security" not in operation, f"{method} {path} is unauthenticated"
            assert "401" not in operation["responses"], f"{method} {path} is unauthenticated"
            continue
        signed += 1
        assert operation.get("security") == [{"rfc9421": []}], f"{method} {path}"
        response = _problem_response(operation, 401)
        assert response is not None, f"{method} {path}: no 401"
        assert "WWW-Authenticate" in response["headers"]
        assert _problem_response(operation, 403) is not None, f"{method} {path}: no 403"
    assert signed >= 20


def test_the_signed_rule_reads_the_dependency_tree(tmp_path: Path) -> None:
    """``is_signed`` agrees with the protocol's list, for every route of the real app."""
    app = _app(tmp_path)
    document = app.openapi()
    documented = {(m, p) for m, p, _ in _operations(document)}
    assert documented >= UNSIGNED
    seen = set()
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        for method in route.methods:
            key = (method.lower(), route.path_format)
            seen.add(key)
            assert is_signed(route) == (key not in UNSIGNED), key
    assert documented <= seen


def test_every_problem_response_lists_the_types_of_its_status(document: dict[str, Any]) -> None:
    """Descriptions are generated from ``problems.PROBLEMS``: each lists every type of its
    status in the table, and no type of another status."""
    status_of = {problem_type(slug): status for status, slug, _ in PROBLEMS.values()}
    checked = 0
    for method, path, operation in _operations(document):
        for code, response in operation["responses"].items():
            if not code.startswith(("4", "5")):
                continue
            status = int(code)
            listed = set(re.findall(r"urn:liaison:problem:[a-z-]+", response["description"]))
            expected = {uri for uri, of in status_of.items() if of == status}
            assert expected <= listed, f"{method} {path} {code}: {expected - listed}"
            strays = {uri for uri in listed if status_of.get(uri, status) != status}
            assert not strays, f"{method} {path} {code}: {strays}"
            checked += 1
    assert checked > 50
    assert problem_type("validation-failed") in json.dumps(document)


def test_input_is_answered_with_the_real_problem_never_fastapis_error(
    document: dict[str, Any],
) -> None:
    text = json.dumps(document)
    assert "HTTPValidationError" not in text
    assert "#/components/schemas/ValidationError" not in text
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])
    errors = json.dumps(problem["properties"]["errors"])
    assert "#/components/schemas/FieldError" in errors
    field_error = document["components"]["schemas"]["FieldError"]
    assert set(field_error["required"]) == {"location", "message"}
    for method, path, operation in _operations(document):
        takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
        if takes_input:
            response = _problem_response(operation, 422)
            assert response is not None, f"{method} {path}: input but no 422"
            assert "validation-failed" in response["description"]
        if operation.get("requestBody"):
            assert _problem_response(operation, 413) is not None, f"{method} {path}: no 413"
        if "{" in path:
            assert _problem_response(operation, 404) is not None, f"{method} {path}: no 404"
        if method != "get":
            assert _problem_response(operation, 409) is not None, f"{method} {path}: no 409"
        # Operations that depend on nothing (no database, no keys) cannot be "not ready".
        if (method, path) not in {("get", "/v1/health"), ("get", "/v1/schemas/alert.json")}:
            assert _problem_response(operation, 503) is not None, f"{method} {path}: no 503"


def test_alert_submission_documents_its_sd_jwt_body(document: dict[str, Any]) -> None:
    body = document["paths"]["/v1/alerts"]["post"]["requestBody"]
    assert body["required"] is True
    assert list(body["content"]) == ["application/sd-jwt"]
    media = body["content"]["application/sd-jwt"]
    assert media["schema"]["type"] == "string"
    assert media["schema"]["pattern"] == SD_JWT_PATTERN
    assert "~" in media["schema"]["description"]
    # The example is the published test vector, and the pattern accepts it.
    vector = json.loads((VECTORS / "alert.json").read_text())["expected"]["sd_jwt"]
    assert media["example"] == SD_JWT_EXAMPLE == vector
    assert re.fullmatch(SD_JWT_PATTERN, vector)
    assert not re.fullmatch(SD_JWT_PATTERN, vector.rstrip("~") + "~eyJ.kb.jwt")


class _References(HTMLParser):
    """Every URL the page makes the browser load: ``src`` and ``href`` attributes (link,
    script, img...) and ReDoc's ``spec-url``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "spec-url"} and value is not None:
                self.urls.append(value)


# What counts as a reference outside the app (the rule this test enforces):
# - in a page: any src/href/spec-url attribute, and any quoted string in its inline script
#   (Swagger UI's config: `url`, `validatorUrl`, `oauth2RedirectUrl`), that is absolute
#   (`http://`, `https://`) or protocol-relative (`//host`);
# - in a stylesheet: any `url(...)` that is not a `data:` URI;
# - the JavaScript bundles are not scanned for strings: they hold URLs in code that load
#   nothing (JSON Schema ids, spec links, license comments, example servers). What code
#   could fetch is confined by the pages' Content-Security-Policy instead: images and
#   connections from the app itself only (ReDoc's sidebar logo from Redocly's CDN is then
#   never requested).
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]*)", re.IGNORECASE)
SCRIPT_STRING = re.compile(r"""["']([^"']*)["']""")


def _outside(urls: list[str]) -> list[str]:
    return [url for url in urls if EXTERNAL.match(url)]


def test_the_reference_rule_catches_external_urls() -> None:
    """The checker itself: each kind of outside reference is caught, local ones pass."""
    page = _References()
    page.feed(
        '<link href="https://cdn.example/x.css"><script src="//cdn.example/x.js"></script>'
        '<img src="/docs/assets/a.png"><redoc spec-url="http://elsewhere/openapi.json">'
    )
    assert _outside(page.urls) == [
        "https://cdn.example/x.css",
        "//cdn.example/x.js",
        "http://elsewhere/openapi.json",
    ]
    css = 'a{background:url("https://x/y.png")} b{background:url(data:image/png;base64,AA)}'
    assert _outside(CSS_URL.findall(css)) == ["https://x/y.png"]
    assert _outside(SCRIPT_STRING.findall("SwaggerUIBundle({url: 'https://petstore'})"))


async def test_docs_pages_and_assets_are_served_by_the_app(tmp_path: Path) -> None:
    app = _app(tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        for page_path in ("/docs", "/redoc"):
            page = await client.get(page_path)
            assert page.status_code == 200, page_path
            assert page.headers["content-type"].startswith("text/html")
            csp = page.headers["content-security-policy"]
            assert "img-src 'self' data:" in csp and "connect-src 'self'" in csp
            parser = _References()
            parser.feed(page.text)
            scripts = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
            strings = [s for script in scripts for s in SCRIPT_STRING.findall(script)]
            assert not _outside(parser.urls + strings), page_path
            assert parser.urls, f"{page_path} references no asset"
            for url in parser.urls:
                asset = await client.get(url)
                assert asset.status_code == 200, url
                assert asset.content, url
                if url.endswith(".css"):
                    assert not _outside(
                        [u for u in CSS_URL.findall(asset.text) if not u.startswith("data:")]
                    ), url
            loaded = set(parser.urls)
            if page_path == "/docs":
                assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= (
                    loaded
                )
                assert "url: '/openapi.json'" in page.text
                assert '"validatorUrl": null' in page.text
            else:
                assert {"/docs/assets/redoc.standalone.js", "/openapi.json"} <= loaded
        spec = await client.get("/openapi.json")
        assert spec.status_code == 200
        assert "rfc9421" in spec.json()["components"]["securitySchemes"]


async def test_docs_off_serves_no_page_and_no_asset(tmp_path: Path) -> None:
    app = _app(tmp_path, docs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect", "/docs/assets/swagger-ui.css"):
            answer = await client.get(path)
            assert answer.status_code == 404, path


def _json_body_schemas(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(operation, component name) of every JSON request body, through ``anyOf`` too."""
    for method, path, operation in _operations(document):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        schema = content["application/json"]["schema"]
        refs = [schema.get("$ref")] + [part.get("$ref") for part in schema.get("anyOf", [])]
        for ref in filter(None, refs):
            yield f"{method} {path}", ref.rsplit("/", 1)[1]


def test_every_json_request_body_has_examples_its_model_accepts(
    document: dict[str, Any],
) -> None:
    models = {
        name: value
        for module in (alert_schemas, governance_schemas, registry_schemas)
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseModel)
    }
    bodies = list(_json_body_schemas(document))
    assert len(bodies) >= 9, bodies
    for operation, name in bodies:
        examples = document["components"]["schemas"][name].get("examples")
        assert examples, f"{operation}: {name} has no examples"
        for example in examples:
            models[name].model_validate(example)
