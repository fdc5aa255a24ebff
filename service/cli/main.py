"""The ``liaison`` command."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from service.broker.keys import read_kek
from service.cli import agency, alerts, audit, database, demo, policy
from service.cli.common import (
    data_dir_option,
    database_option,
    run,
    settings_for,
    write_private_jwk,
)
from service.cli.setup import dev_certs, init
from service.db.engine import make_engine
from service.db.migrations import ensure_current
from service.protocol.clock import SystemClock
from service.protocol.crypto import EncryptionPrivateKey, SigningPrivateKey
from service.protocol.errors import LiaisonError
from service.settings import Settings


@click.group()
@click.version_option(package_name="liaison")
def main() -> None:
    """Liaison: a broker for signed, policy-gated, audited alert sharing between agencies."""


@main.command()
@data_dir_option
@database_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8443, show_default=True, type=int)
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), default=None)
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), default=None)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(
    data_dir: Path,
    database_url: str | None,
    host: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    workers: int,
) -> None:
    """Run the HTTP(S) server. Refuses a database whose migrations are not current."""
    import uvicorn

    settings = settings_for(data_dir, database_url)
    if (tls_cert is None) != (tls_key is None):
        raise click.ClickException("--tls-cert and --tls-key go together")
    if database_url is None and not data_dir.is_dir():
        raise click.ClickException(f"no data directory {data_dir}: run `liaison init` first")
    try:
        run(_check_ready(settings))
    except LiaisonError as exc:
        raise click.ClickException(exc.detail) from None
    # Workers re-create the app from the environment; pass the options on that way.
    os.environ["LIAISON_DATA_DIR"] = str(data_dir)
    if database_url:
        os.environ["LIAISON_DATABASE_URL"] = database_url
    scheme = "https" if tls_cert else "http"
    click.echo(f"liaison serving on {scheme}://{host}:{port}")
    uvicorn.run(
        "service.app:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        workers=workers,
        log_level="info",
    )


async def _check_ready(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        await ensure_current(engine)
    finally:
        await engine.dispose()
    read_kek(settings)


@main.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Prefix: writes PREFIX.sign.jwk, PREFIX.enc.jwk and PREFIX.public.json.",
)
@click.option("--valid-days", type=int, default=None, help="Set not_after this many days ahead.")
def keygen(out: Path, valid_days: int | None) -> None:
    """Make an agency's Ed25519 signing and X25519 encryption key pairs as JWKs."""
    from datetime import timedelta

    signing, encryption = SigningPrivateKey.generate(), EncryptionPrivateKey.generate()
    public: dict[str, list[dict[str, str]]] = {
        "signing_keys": [signing.public.to_jwk()],
        "encryption_keys": [encryption.public.to_jwk()],
    }
    if valid_days is not None:
        not_after = (SystemClock().now() + timedelta(days=valid_days)).isoformat()
        for jwk in (*public["signing_keys"], *public["encryption_keys"]):
            jwk["not_after"] = not_after
    write_private_jwk(Path(f"{out}.sign.jwk"), signing.to_jwk())
    write_private_jwk(Path(f"{out}.enc.jwk"), encryption.to_jwk())
    Path(f"{out}.public.json").write_text(json.dumps(public, indent=2) + "\n")
    click.echo(f"signing kid {signing.kid} -> {out}.sign.jwk")
    click.echo(f"encryption kid {encryption.kid} -> {out}.enc.jwk")
    click.echo(f"public keys -> {out}.public.json")


@main.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8443, show_default=True, type=int)
@click.pass_context
def dev(context: click.Context, data_dir: Path, host: str, port: int) -> None:
    """Development server in one step: init and dev-certs if needed, then HTTPS on SQLite."""
    if not (data_dir / "admin.jwk").exists():
        context.invoke(init, data_dir=data_dir, database_url=None, admin_id="admin", country="ZZ")
    tls = data_dir / "tls"
    if not (tls / "ca.pem").exists():
        context.invoke(dev_certs, data_dir=data_dir, hostnames=("localhost", "127.0.0.1", "::1"))
    click.echo(
        f"try: liaison agency list --url https://localhost:{port} "
        f"--key {data_dir / 'admin.jwk'} --ca {tls / 'ca.pem'}"
    )
    context.invoke(
        serve,
        data_dir=data_dir,
        database_url=None,
        host=host,
        port=port,
        tls_cert=str(tls / "server.pem"),
        tls_key=str(tls / "server-key.pem"),
        workers=1,
    )


main.add_command(init)
main.add_command(dev_certs)
main.add_command(agency.agency)
main.add_command(database.db)
main.add_command(audit.audit)
main.add_command(policy.policy)
main.add_command(alerts.alert)
main.add_command(alerts.feed)
main.add_command(demo.demo)
