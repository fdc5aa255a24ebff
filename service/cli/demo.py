"""``liaison demo``: a small fictional network exchanging alerts over HTTPS, end to end."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from service.client import LiaisonClient
from service.client.alerts import AlertsClient
from service.crypto import EncryptionPrivateKey, SigningPrivateKey

# Fictional agencies of fictional countries (user-assigned ISO codes). The bilateral example
# policies in policies/partners/ name some of them.
AGENCIES: list[dict[str, Any]] = [
    {
        "id": "ruritania-npa",
        "name": "Ruritania National Police Agency",
        "country": "XR",
        "groups": ["balkan-pact", "counter-terrorism"],
        "attributes": {"biometrics": True, "location": True},
    },
    {
        "id": "borduria-sis",
        "name": "Borduria Security and Intelligence Service",
        "country": "XB",
        "groups": ["balkan-pact", "counter-terrorism"],
        "attributes": {"biometrics": True},
    },
    {
        "id": "syldavia-cyber",
        "name": "Syldavia Cybercrime Unit",
        "country": "XS",
        "groups": ["balkan-pact"],
        "attributes": {},
    },
    {
        "id": "freedonia-fbi",
        "name": "Freedonia Federal Bureau",
        "country": "XF",
        "groups": ["counter-terrorism"],
        "attributes": {"biometrics": True, "location": True},
    },
    {
        "id": "genovia-police",
        "name": "Genovia Royal Police",
        "country": "XG",
        "groups": ["balkan-pact"],
        "attributes": {"location": True},
    },
]
AUDITOR = {
    "id": "oversight-board",
    "name": "Joint Oversight Board",
    "country": "XO",
    "groups": [],
    "roles": ["auditor"],
    "attributes": {},
}


@dataclass
class Agency:
    id: str
    signing: SigningPrivateKey
    encryption: EncryptionPrivateKey
    client: LiaisonClient
    alerts: AlertsClient


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _heading(text: str) -> None:
    click.echo("")
    click.secho(text, bold=True)
    click.echo("-" * len(text))


ALERTS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "Red notice: corruption (TLP:CLEAR, all members)",
        {
            "kind": "red",
            "category": "corruption",
            "tlp": "clear",
            "audience": {"agencies": [], "groups": [], "all": True},
            "purpose": "locate and provisionally arrest with a view to extradition",
            "legal_basis": "arrest warrant 2026/114 of the Ruritanian anti-corruption court",
        },
        {
            "subject": {"name": "Ottokar Vasilescu", "born": "1968-03-02"},
            "charges": ["embezzlement of public funds", "bribery"],
            "narrative": "Former deputy minister; diverted EU structural funds via shell firms.",
        },
    ),
    (
        "Terrorism bulletin to the counter-terrorism group (TLP:AMBER)",
        {
            "kind": "bulletin",
            "category": "terrorism",
            "tlp": "amber",
            "audience": {"agencies": [], "groups": ["counter-terrorism"], "all": False},
            "purpose": "threat awareness",
            "legal_basis": "counter-terrorism cooperation treaty, art. 4",
        },
        {
            "narrative": "Procurement of precursor chemicals observed near the northern border.",
            "subject": {"group": "Black Lantern cell"},
        },
    ),
    (
        "TLP:RED diffusion to two named partners",
        {
            "kind": "diffusion",
            "category": "cybercrime",
            "tlp": "red",
            "audience": {
                "agencies": ["syldavia-cyber", "genovia-police"],
                "groups": [],
                "all": False,
            },
            "purpose": "preserve evidence",
            "legal_basis": "Budapest Convention, art. 29",
        },
        {
            "narrative": "Ransomware affiliate infrastructure hosted in Syldavia and Genovia.",
            "indicators": ["203.0.113.7", "ransom-note-v3.txt"],
        },
    ),
    (
        "Missing person with biometrics (TLP:GREEN, Balkan pact)",
        {
            "kind": "yellow",
            "category": "missing-person",
            "tlp": "green",
            "audience": {"agencies": [], "groups": ["balkan-pact"], "all": False},
            "purpose": "locate a missing minor",
            "legal_basis": "child protection protocol, art. 2",
        },
        {
            "subject": {"name": "Mila Dragan", "born": "2011-07-19"},
            "biometrics": {"fingerprint": "NIST-ANSI-2011:9f1c…", "face": "template-v2:77ab…"},
            "last_known_location": "Klow central station, 2026-11-20 18:40",
        },
    ),
]


async def _run_demo(data_dir: Path, port: int) -> None:
    import uvicorn

    from service.app import create_app
    from service.audit.note import NoteVerifier
    from service.audit.verify import HttpLogSource, verify_log
    from service.client.api import load_private_jwk
    from service.settings import Settings

    tls = data_dir / "tls"
    settings = Settings(data_dir=data_dir)
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ssl_certfile=str(tls / "server.pem"),
        ssl_keyfile=str(tls / "server-key.pem"),
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    base, ca = f"https://localhost:{port}", tls / "ca.pem"
    try:
        admin = LiaisonClient(base, load_private_jwk(data_dir / "admin.jwk"), verify=ca)
        _heading(f"Liaison broker at {base} (TLS with the demo's own CA)")
        agencies: dict[str, Agency] = {}
        for spec in [*AGENCIES, AUDITOR]:
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

        origin = agencies["ruritania-npa"]
        posted: list[tuple[str, str]] = []
        _heading("ruritania-npa posts four alerts (each an SD-JWT it signs itself)")
        for title, clear, content in ALERTS:
            result = await origin.alerts.compose_and_post(origin.signing, clear, content)
            posted.append((title, result["alert_id"]))
            view = await origin.alerts.show(result["alert_id"])
            got = [d["partner"] for d in view["decisions"] if d["decision"] == "received"]
            click.echo(
                f"{title}\n    {result['alert_id']}  {result['status']}  -> "
                f"{', '.join(got) or 'nobody'}"
            )
            for decision in view["decisions"]:
                if decision["decision"] == "withheld" and decision["policies"]:
                    click.echo(
                        f"    withheld from {decision['partner']}: "
                        f"{', '.join(decision['policies'])}"
                    )

        _heading("Each partner polls its feed, decrypts and verifies what it got")
        cursors: dict[str, str] = {}
        for agency_id in [a["id"] for a in AGENCIES if a["id"] != origin.id]:
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

        red_notice, diffusion = posted[0][1], posted[2][1]
        _heading("genovia-police declines the red notice; a red notice is a request, not a warrant")
        await agencies["genovia-police"].alerts.dispose(
            red_notice, "declined", "no extradition treaty; subject not on our territory"
        )
        await agencies["syldavia-cyber"].alerts.dispose(
            red_notice, "acting", "checking border records"
        )
        view = await origin.alerts.show(red_notice)
        for disposition in view["dispositions"]:
            click.echo(
                f"    {disposition['partner']}: {disposition['status']} ({disposition['reason']})"
            )

        _heading("ruritania-npa withdraws the TLP:RED diffusion")
        withdrawn = await origin.alerts.withdraw(diffusion, "evidence secured")
        click.echo(f"    withdrawal sent to {', '.join(withdrawn['recipients'])}")
        for agency_id in withdrawn["recipients"]:
            agency = agencies[agency_id]
            page = await agency.alerts.feed(after=cursors[agency_id])
            for item in page["items"]:
                opened = await agency.alerts.open_item(item)
                click.echo(f"    {agency_id} got a {opened.type} notice: {opened.notice['reason']}")

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
        click.echo(
            "    red notice trail: " + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items()))
        )
        for agency in agencies.values():
            await agency.client.aclose()
        await admin.aclose()
    finally:
        server.should_exit = True
        await serving


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to put the demo's broker (default: a new temporary directory).",
)
@click.pass_context
def demo(context: click.Context, data_dir: Path | None) -> None:
    """Run a fictional network end to end over HTTPS and print what happens."""
    from service.cli.main import dev_certs, init

    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="liaison-demo-"))
    if (data_dir / "admin.jwk").exists():
        raise click.ClickException(f"{data_dir} already holds a broker; pick a new --data-dir")
    context.invoke(init, data_dir=data_dir, database_url=None, admin_id="admin", country="ZZ")
    context.invoke(dev_certs, data_dir=data_dir, hostnames=("localhost", "127.0.0.1", "::1"))
    asyncio.run(_run_demo(data_dir, _free_port()))
    click.echo("")
    click.echo(f"The demo's broker is in {data_dir}; serve it again with:")
    click.echo(f"  liaison dev --data-dir {data_dir}")
