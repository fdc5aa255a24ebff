"""The web console end to end: a live broker, Chromium, real keys, real crypto in the page.

Each test drives the console as a person would (key files in the sign-in form, buttons) and
checks what the broker recorded, what the page shows, and what left the browser.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page
from sqlalchemy.ext.asyncio import AsyncEngine

from service.console.routes import CONSOLE_CSP, STATIC_DIR
from service.settings import Settings
from tests.audit.test_tamper import allow_tampering, falsify_actor
from tests.conftest import Template
from tests.console.e2e_support import (
    WAIT_MS,
    Broker,
    Principal,
    RequestLog,
    chromium,
    eventually,
    external_references,
    live_broker,
    new_console_page,
    open_view,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.slow

RED_NOTICE = {
    "kind": "red",
    "category": "corruption",
    "tlp": "clear",
    "audience": {"agencies": [], "groups": [], "all": True},
    "purpose": "extradite",
    "legal_basis": "arrest warrant 2026/114 of the Ruritanian anti-corruption court",
}
RED_CONTENT = {
    "subject": {"name": "Ottokar Vasilescu", "born": "1968-03-02"},
    "charges": ["embezzlement of public funds", "bribery"],
    "narrative": "Former deputy minister; diverted EU structural funds via shell firms.",
    "biometrics": {"fingerprint": "NIST-ANSI-2011:9f1c77", "face": "template-v2:77ab01"},
}
BULLETIN = {
    "kind": "bulletin",
    "category": "cybercrime",
    "tlp": "green",
    "audience": {"agencies": ["genovia-police"], "groups": [], "all": False},
    "purpose": "inform",
    "legal_basis": "Budapest Convention, art. 29",
}
BULLETIN_CONTENT = {"narrative": "Ransomware affiliate infrastructure hosted in Genovia."}


@pytest.fixture
async def broker(settings: Settings, template: Template, tmp_path: Path) -> AsyncIterator[Broker]:
    async with live_broker(settings, template.admin_key, tmp_path) as live:
        # The demo network's roles (service/cli/demo_data.py): genovia-police has no
        # biometrics clearance, so the shipped dp-biometrics-clearance policy withholds them.
        await live.register(
            "ruritania-npa", country="XR", attributes={"biometrics": True, "location": True}
        )
        await live.register("genovia-police", country="XG", attributes={"location": True})
        await live.register("interpol-ccf", roles=("reviewer",), country="XI")
        await live.register("oversight-board", roles=("auditor",), country="XO")
        yield live


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def submit(broker: Broker, clear: dict[str, Any], content: dict[str, Any]) -> str:
    originator = broker.principals["ruritania-npa"]
    answer = await originator.alerts().compose_and_post(originator.signing, clear, content)
    return str(answer["alert_id"])


async def approve_in_console(page: Page, alert_id: str) -> None:
    await page.click(f'#review-table button[data-alert="{alert_id}"]')
    await page.wait_for_selector("#review-content", timeout=WAIT_MS)
    await page.select_option("#verdict", "approve")
    await page.fill("#decision-reason", "lawful request, judicial warrant attached")
    await page.click("#decide")
    await wait_status(page, "now published")


async def wait_status(page: Page, text: str) -> None:
    """Wait for the live status region to say ``text`` (the CSP forbids evaluated predicates)."""
    await page.locator("#status", has_text=text).wait_for(timeout=WAIT_MS)


def alert_card(page: Page, alert_id: str, item_type: str = "alert") -> Any:
    return page.locator(f'article.card[data-alert="{alert_id}"][data-type="{item_type}"]')


async def test_reviewer_approves_and_the_desk_sees_biometrics_withheld(
    broker: Broker, browser: Browser
) -> None:
    alert_id = await submit(broker, RED_NOTICE, RED_CONTENT)
    assert (await broker.principals["ruritania-npa"].alerts().show(alert_id))[
        "status"
    ] == "pending_review"

    reviewer = await new_console_page(browser, broker)
    await screenshot(reviewer, "signin")
    await sign_in(reviewer, broker.principals["interpol-ccf"])
    await open_view(reviewer, "reviewer")
    row = reviewer.locator("#review-table tr", has_text=alert_id)
    assert "screening-hold-red-notice" in (await row.inner_text())
    await reviewer.click(f'#review-table button[data-alert="{alert_id}"]')
    content = reviewer.locator("#review-content")
    await content.wait_for(timeout=WAIT_MS)
    # The reviewer's copy, decrypted in the page, carries every claim, biometrics included.
    assert "NIST-ANSI-2011:9f1c77" in await content.inner_text()
    assert "Ottokar Vasilescu" in await content.inner_text()
    await screenshot(reviewer, "reviewer")
    await reviewer.select_option("#verdict", "approve")
    await reviewer.fill("#decision-reason", "lawful request, judicial warrant attached")
    await reviewer.click("#decide")
    await wait_status(reviewer, "now published")
    view = await broker.principals["ruritania-npa"].alerts().show(alert_id)
    assert view["status"] == "published"

    desk = await new_console_page(browser, broker)
    await sign_in(desk, broker.principals["genovia-police"])
    await open_view(desk, "desk")
    card = alert_card(desk, alert_id)
    await card.wait_for(timeout=WAIT_MS)
    text = await card.inner_text()
    assert "Ottokar Vasilescu" in text
    assert "originator signature ✓" in text
    assert "key binding ✓" in text
    biometrics = card.locator("dt", has_text="biometrics")
    assert await biometrics.count() == 1
    withheld = card.locator("dt:text-is('biometrics') + dd")
    assert "withheld" in await withheld.inner_text()
    assert "NIST-ANSI-2011" not in text

    async def included() -> bool:
        await broker.settle()
        await alert_card(desk, alert_id).locator("[data-action=inclusion]").click()
        await desk.wait_for_selector(
            f'article[data-alert="{alert_id}"] .verification', timeout=WAIT_MS
        )
        line = await alert_card(desk, alert_id).locator(".verification").inner_text()
        assert "failed" not in line, line
        return "log inclusion: included" in line

    await eventually(included)
    await screenshot(desk, "desk")
    for page in (reviewer, desk):
        assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]


async def verify_log_in_page(page: Page) -> str:
    await page.click("#verify-log")
    await page.wait_for_selector(
        "#verify-result[data-result=ok], #verify-result[data-result=failed]", timeout=WAIT_MS
    )
    result = await page.get_attribute("#verify-result", "data-result")
    return f"{result}: {await page.inner_text('#verify-result')}"


async def test_auditor_verification_passes_then_fails_after_a_leaf_is_altered(
    broker: Broker, browser: Browser, engine: AsyncEngine
) -> None:
    await submit(broker, RED_NOTICE, RED_CONTENT)  # held: the report charts the hold
    alert_id = await submit(broker, BULLETIN, BULLETIN_CONTENT)
    await broker.settle()
    auditor = await new_console_page(browser, broker)
    await sign_in(auditor, broker.principals["oversight-board"], keep=True)
    await open_view(auditor, "auditor")
    consistency = await auditor.inner_text("#consistency-result")
    assert "nothing to compare yet" in consistency or "consistent with size" in consistency
    outcome = await verify_log_in_page(auditor)
    assert outcome.startswith("ok:"), outcome

    await auditor.fill("#timeline-alert", alert_id)
    await auditor.click("#timeline-run")
    await auditor.wait_for_selector("#timeline ol li", timeout=WAIT_MS)
    assert "alert.submitted" in await auditor.inner_text("#timeline")
    await auditor.click("#report-run")
    await auditor.wait_for_selector(
        "#report svg.chart rect.chart-bar", state="attached", timeout=WAIT_MS
    )
    outcomes = await auditor.text_content("#report svg.chart title >> nth=0")
    assert outcomes is not None
    assert "submitted 2" in outcomes
    assert "held 1" in outcomes
    await screenshot(auditor, "auditor")

    await broker.settle()
    await allow_tampering(engine)
    await falsify_actor(engine, 1)
    # Reload: the session comes back from IndexedDB; the verification starts afresh.
    await auditor.reload()
    await auditor.wait_for_selector("#nav-auditor", timeout=WAIT_MS)
    await open_view(auditor, "auditor")
    outcome = await verify_log_in_page(auditor)
    assert outcome.startswith("failed:"), outcome
    assert "the log was altered" in outcome


async def test_a_disposition_posted_in_the_console_reaches_the_originator_view(
    broker: Broker, browser: Browser
) -> None:
    alert_id = await submit(broker, BULLETIN, BULLETIN_CONTENT)
    desk = await new_console_page(browser, broker)
    await sign_in(desk, broker.principals["genovia-police"])
    await open_view(desk, "desk")
    card = alert_card(desk, alert_id)
    await card.wait_for(timeout=WAIT_MS)
    await card.locator("input.reason").fill("surveillance opened on the named hosts")
    await card.locator("button[data-disposition=acting]").click()
    await wait_status(desk, 'Recorded "acting"')

    originator = await new_console_page(browser, broker)
    await sign_in(originator, broker.principals["ruritania-npa"])
    await broker.settle()  # the originator's alerts are found through its audit entries
    await open_view(originator, "originator")
    mine = originator.locator(f'#originator-alerts article[data-alert="{alert_id}"]')
    await mine.wait_for(timeout=WAIT_MS)
    dispositions = await mine.locator("table.dispositions").inner_text()
    assert "genovia-police" in dispositions
    assert "acting" in dispositions
    assert "surveillance opened on the named hosts" in dispositions
    decisions = await mine.locator("table.decisions").inner_text()
    assert "received" in decisions
    await screenshot(originator, "originator")


def private_values(principal: Principal) -> list[str]:
    return [
        json.loads(principal.sign_file.read_text())["d"],
        json.loads(principal.enc_file.read_text())["d"],
    ]


KEYS_IN_INDEXEDDB = """
async () => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open("liaison-console");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const saved = await new Promise((resolve, reject) => {
    const request = db.transaction("session").objectStore("session").get("current");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const keys = [saved.key, ...saved.encKeys.map((k) => k.key)];
  const exports = [];
  for (const key of keys) {
    try {
      await crypto.subtle.exportKey("jwk", key);
      exports.push("exported");
    } catch (error) {
      exports.push(error.name);
    }
  }
  return {
    types: keys.map((k) => k.type),
    extractable: keys.map((k) => k.extractable),
    exports,
    localStorage: localStorage.length,
  };
}
"""


async def test_no_private_key_material_reaches_the_server(broker: Broker, browser: Browser) -> None:
    alert_id = await submit(broker, RED_NOTICE, RED_CONTENT)
    log = RequestLog()
    reviewer = await new_console_page(browser, broker, log)
    await sign_in(reviewer, broker.principals["interpol-ccf"], keep=True)
    await open_view(reviewer, "reviewer")
    await approve_in_console(reviewer, alert_id)
    desk = await new_console_page(browser, broker, log)
    await sign_in(desk, broker.principals["genovia-police"], keep=True)
    await open_view(desk, "desk")
    await alert_card(desk, alert_id).wait_for(timeout=WAIT_MS)
    await alert_card(desk, alert_id).locator("button[data-disposition=received]").click()
    await wait_status(desk, "Recorded")

    signed = [r for r in log.requests if "signature-input" in r["headers"]]
    assert len(signed) >= 6  # the page really talked to the API, signing every call
    assert any(r["method"] == "POST" for r in signed)
    everything = log.text()
    for principal in (broker.principals["interpol-ccf"], broker.principals["genovia-police"]):
        for secret in private_values(principal):
            assert secret not in everything
    for request in log.requests:
        assert b'"d"' not in request["body"]
        assert '"d"' not in request["url"]

    for page, who in ((reviewer, "interpol-ccf"), (desk, "genovia-police")):
        held = await page.evaluate(KEYS_IN_INDEXEDDB)
        assert held["types"] == ["private", "private"], who
        assert held["extractable"] == [False, False], who
        assert held["exports"] == ["InvalidAccessError", "InvalidAccessError"], who
        assert held["localStorage"] == 0


def console_assets() -> list[str]:
    return sorted(
        path.relative_to(STATIC_DIR).as_posix() for path in STATIC_DIR.rglob("*") if path.is_file()
    )


async def test_every_console_response_carries_the_csp_and_no_external_reference(
    broker: Broker,
) -> None:
    assets = console_assets()
    assert {"index.html", "css/console.css", "js/app.js", "js/protocol.js"} <= set(assets)
    async with httpx.AsyncClient(base_url=broker.base_url) as client:
        paths = ["/console", "/console/static/js/does-not-exist.js"]
        paths += [f"/console/static/{asset}" for asset in assets]
        for path in paths:
            response = await client.get(path)
            assert response.status_code == (404 if "does-not-exist" in path else 200), path
            assert response.headers["content-security-policy"] == CONSOLE_CSP, path
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert response.headers["referrer-policy"] == "no-referrer", path
            if response.status_code == 200:
                assert external_references(response.text) == [], path
            if path.endswith(".js") and response.status_code == 200:
                assert "javascript" in response.headers["content-type"], path
        index = (await client.get("/console")).text
        # No inline script, style or event handler: the CSP would refuse them anyway.
        assert "<style" not in index
        assert " style=" not in index
        assert re.search(r"<[^>]*\son[a-z]+\s*=", index) is None
        assert '<script type="module" src="/console/static/js/app.js"></script>' in index
        api = await client.get("/v1/health")
        assert "content-security-policy" not in api.headers
