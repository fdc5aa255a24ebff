"""``liaison demo``: a small fictional network exchanging alerts over HTTPS, end to end."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

from service.cli.demo_data import AGENCIES, ALERTS, AUDITOR, REVIEWER
from service.client import LiaisonClient
from service.client.alerts import AlertsClient
from service.protocol.crypto import EncryptionPrivateKey, SigningPrivateKey


@dataclass
class Agency:
    id: str
    signing: SigningPrivateKey
    encryption: EncryptionPrivateKey
    client: LiaisonClient
    alerts: AlertsClient


def _heading(text: str) -> None:
    click.echo("")
    click.secho(text, bold=True)
    click.echo("-" * len(text))


async def _post_alerts(origin: Agency) -> list[str]:
    _heading("ruritania-npa posts four alerts (each an SD-JWT it signs itself)")
    posted = []
    for title, clear, content in ALERTS:
        result = await origin.alerts.compose_and_post(origin.signing, clear, content)
        posted.append(result["alert_id"])
        click.echo(f"{title}\n    {result['alert_id']}  {result['status']}")
        await _decisions(origin, result["alert_id"])
    return posted


async def _decisions(origin: Agency, alert_id: str) -> None:
    view = await origin.alerts.show(alert_id)
    got = [d["partner"] for d in view["decisions"] if d["decision"] == "received"]
    if view["status"] == "pending_review":
        click.echo(f"    held for review: {view['reviews'][0]['reason']}")
        return
    click.echo(f"    -> {', '.join(got) or 'nobody'}")
    for decision in view["decisions"]:
        if decision["decision"] == "withheld" and decision["policies"]:
            click.echo(
                f"    withheld from {decision['partner']}: {', '.join(decision['policies'])}"
            )


async def _review(reviewer: Agency, origin: Agency, alert_id: str) -> None:
    from service.protocol.envelope import open_envelope

    _heading("interpol-ccf reviews the held red notice before anyone receives it")
    pending = (await reviewer.client.request("GET", "/v1/reviews")).json()["reviews"]
    waiting = ", ".join(f"{p['alert_kind']} from {p['originator']}" for p in pending)
    click.echo(f"    pending: {waiting}")
    read = (await reviewer.client.request("GET", f"/v1/reviews/{alert_id}")).json()
    opened = open_envelope(reviewer.encryption, read["envelope"])
    click.echo(f"    read the full alert ({len(opened)} bytes, sealed to the reviewer, logged)")
    await reviewer.client.request(
        "POST",
        f"/v1/reviews/{alert_id}",
        json={"decision": "approve", "reason": "ordinary-law crime; no Article 3 concern"},
    )
    click.echo("    approved: the normal fan-out follows")
    await _decisions(origin, alert_id)


async def _poll_all(agencies: dict[str, Agency], origin: str) -> dict[str, str]:
    _heading("Each partner polls its feed, decrypts and verifies what it got")
    cursors: dict[str, str] = {}
    for agency_id in [a["id"] for a in AGENCIES if a["id"] != origin]:
        agency = agencies[agency_id]
        page = await agency.alerts.feed()
        cursors[agency_id] = page["next"]
        click.echo(f"{agency_id}: {len(page['items'])} item(s)")
        for item in page["items"]:
            opened = await agency.alerts.open_item(item)
            redacted = f", {opened.undisclosed} redacted" if opened.undisclosed else ""
            click.echo(
                f"    {opened.claims['kind']:<9} {opened.claims['category']:<15} "
                f"TLP:{opened.claims['tlp'].upper():<6} sees: "
                f"{', '.join(sorted(opened.content))}{redacted}"
            )
    return cursors


async def _show_notices(
    agencies: dict[str, Agency], recipients: list[str], cursors: dict[str, str]
) -> None:
    for agency_id in recipients:
        agency = agencies[agency_id]
        page = await agency.alerts.feed(after=cursors[agency_id])
        cursors[agency_id] = page["next"]
        for item in page["items"]:
            opened = await agency.alerts.open_item(item)
            click.echo(f"    {agency_id} got a {opened.type} notice: {opened.notice['reason']}")


async def _transparency(auditor: LiaisonClient) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    params = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }
    report = (await auditor.request("GET", "/v1/transparency", params=params)).json()
    outcomes = ", ".join(f"{k} {v}" for k, v in report["outcomes"].items())
    click.echo(f"    transparency report (recomputable from the log): {outcomes}")


async def _run_demo(data_dir: Path) -> None:
    from service.app import create_app
    from service.live import TLSFiles, serve_app
    from service.settings import Settings

    tls = TLSFiles.of_data_dir(data_dir)
    async with serve_app(create_app(Settings(data_dir=data_dir)), tls=tls) as base:
        await _exchange(data_dir, base, tls.ca)


async def _exchange(data_dir: Path, base: str, ca: Path) -> None:
    from service.client.api import load_private_jwk
    from service.client.log_source import HttpLogSource
    from service.protocol.logverify import verify_log
    from service.protocol.note import NoteVerifier

    admin = LiaisonClient(base, load_private_jwk(data_dir / "admin.jwk"), verify=ca)
    _heading(f"Liaison broker at {base} (TLS with the demo's own CA)")
    agencies: dict[str, Agency] = {}
    for spec in [*AGENCIES, REVIEWER, AUDITOR]:
        signing, encryption = SigningPrivateKey.generate(), EncryptionPrivateKey.generate()
        await admin.register_agency(
            {
                **spec,
                "roles": spec.get("roles", ["agency"]),
                "signing_keys": [signing.public.to_jwk()],
                "encryption_keys": [encryption.public.to_jwk()],
            }
        )
        client = LiaisonClient(base, signing, verify=ca)
        agencies[spec["id"]] = Agency(
            spec["id"],
            signing,
            encryption,
            client,
            AlertsClient(client, spec["id"], encryption),
        )
        click.echo(
            f"registered {spec['id']:<16} {spec['country']}  groups: "
            f"{', '.join(spec['groups']) or '-'}  clearances: "
            f"{', '.join(k for k, v in spec['attributes'].items() if v) or '-'}"
        )

    origin, reviewer = agencies["ruritania-npa"], agencies["interpol-ccf"]
    posted = await _post_alerts(origin)
    red_notice, bulletin, diffusion = posted[0], posted[1], posted[2]
    await _review(reviewer, origin, red_notice)
    cursors = await _poll_all(agencies, origin.id)

    _heading("genovia-police declines the red notice; a red notice is a request, not a warrant")
    await agencies["genovia-police"].alerts.dispose(
        red_notice, "declined", "no extradition treaty; subject not on our territory"
    )
    await agencies["syldavia-cyber"].alerts.dispose(red_notice, "acting", "checking border records")
    view = await origin.alerts.show(red_notice)
    for disposition in view["dispositions"]:
        click.echo(
            f"    {disposition['partner']}: {disposition['status']} ({disposition['reason']})"
        )

    _heading("freedonia-fbi challenges the terrorism bulletin; the reviewer cancels it")
    await agencies["freedonia-fbi"].alerts.dispose(
        bulletin, "challenged", "the 'cell' is a registered opposition party"
    )
    decided = await reviewer.client.request(
        "POST",
        f"/v1/reviews/{bulletin}",
        json={"decision": "cancel", "reason": "political character (Article 3)"},
    )
    click.echo(
        f"    review decision: {decided.json()['status']} -> alert is "
        f"{decided.json()['alert_status']}"
    )
    await _show_notices(agencies, ["freedonia-fbi"], cursors)

    _heading("ruritania-npa withdraws the TLP:RED diffusion; recipients must confirm the purge")
    withdrawn = await origin.alerts.withdraw(diffusion, "evidence secured")
    click.echo(f"    withdrawal sent to {', '.join(withdrawn['recipients'])}")
    await _show_notices(agencies, withdrawn["recipients"], cursors)
    await agencies["genovia-police"].alerts.dispose(diffusion, "purged", "deleted")
    purge = (await origin.alerts.show(diffusion))["purge"]
    click.echo(
        f"    purge confirmed by {', '.join(purge['confirmed'])}; outstanding: "
        f"{', '.join(purge['outstanding'])} (deadline {purge['deadline']})"
    )

    _heading("The oversight board verifies the audit log (it never sees alert content)")
    auditor = agencies["oversight-board"].client
    broker = await auditor.broker()
    await asyncio.sleep(0.8)  # let the integrator sign a checkpoint covering the last entries
    report = await verify_log(
        HttpLogSource(auditor),
        NoteVerifier.from_vkey(broker["checkpoint_vkey"]),
        broker["origin"],
    )
    click.echo(
        f"    {report.entries_checked} entries, tree size {report.size}, signed "
        f"checkpoint verified with {broker['checkpoint_vkey'].split('+')[0]}"
    )
    events = await auditor.audit_search(alert_id=red_notice, limit=1000)
    kinds: dict[str, int] = {}
    for entry in events["entries"]:
        kinds[entry["event"]] = kinds.get(entry["event"], 0) + 1
    click.echo("    red notice trail: " + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())))
    await _transparency(auditor)
    for agency in agencies.values():
        await agency.client.aclose()
    await admin.aclose()


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to put the demo's broker (default: a new temporary directory).",
)
@click.pass_context
def demo(context: click.Context, data_dir: Path | None) -> None:
    """Run a fictional network end to end over HTTPS and print what happens.

    \b
    Examples:
      liaison demo
      liaison demo --data-dir demo-data   # keep the broker to explore it afterwards
    """
    from service.cli.setup import dev_certs, init

    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="liaison-demo-"))
    if (data_dir / "admin.jwk").exists():
        raise click.ClickException(f"{data_dir} already holds a broker; pick a new --data-dir")
    context.invoke(init, data_dir=data_dir, database_url=None, admin_id="admin", country="ZZ")
    context.invoke(dev_certs, data_dir=data_dir, hostnames=("localhost", "127.0.0.1", "::1"))
    asyncio.run(_run_demo(data_dir))
    click.echo("")
    click.echo(f"The demo's broker is in {data_dir}; serve it again with:")
    click.echo(f"  liaison dev --data-dir {data_dir}")
