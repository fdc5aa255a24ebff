"""Setting up a broker: ``liaison init`` and ``liaison dev-certs``."""

from __future__ import annotations

from pathlib import Path

import click

from service.broker.bootstrap import bootstrap
from service.broker.keys import read_kek, write_new_kek
from service.cli.certificates import make_dev_certificates
from service.cli.common import (
    data_dir_option,
    database_option,
    run,
    settings_for,
    write_private_jwk,
)
from service.db.engine import make_engine, make_sessionmaker
from service.db.migrations import upgrade
from service.protocol.clock import SystemClock
from service.protocol.crypto import SigningPrivateKey
from service.protocol.errors import LiaisonError
from service.settings import Settings


async def _bootstrap(
    settings: Settings, kek: bytes, admin_id: str, country: str
) -> SigningPrivateKey:
    engine = make_engine(settings.resolved_database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await bootstrap(
                session, kek, SystemClock().now(), admin_id, "Liaison administrator", country
            )
    finally:
        await engine.dispose()


@click.command()
@data_dir_option
@database_option
@click.option("--admin-id", default="admin", show_default=True)
@click.option("--country", default="ZZ", show_default=True, help="ISO 3166 code of the operator.")
def init(data_dir: Path, database_url: str | None, admin_id: str, country: str) -> None:
    """Create the data directory, the schema, the broker's keys and the first admin.

    The admin's private signing key is written to DATA_DIR/admin.jwk.

    \b
    Examples:
      liaison init --data-dir liaison-data
      liaison init --database postgresql+asyncpg://postgres@127.0.0.1/liaison
    """
    settings = settings_for(data_dir, database_url)
    admin_file = data_dir / "admin.jwk"
    if admin_file.exists():
        raise click.ClickException(f"{data_dir} is already initialised ({admin_file} exists)")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if settings.kek is None and not settings.kek_file.exists():
        write_new_kek(settings.kek_file)
    try:
        kek = read_kek(settings)
    except LiaisonError as exc:
        raise click.ClickException(exc.detail) from None
    upgrade(settings.resolved_database_url)
    try:
        admin_key = run(_bootstrap(settings, kek, admin_id, country))
    except LiaisonError as exc:
        raise click.ClickException(exc.detail) from None
    write_private_jwk(admin_file, admin_key.to_jwk())
    click.echo(f"initialised {data_dir}")
    click.echo(f"  database   {settings.resolved_database_url}")
    click.echo(f"  admin      {admin_id} (kid {admin_key.kid}), private key in {admin_file}")
    click.echo(
        f"next: liaison dev-certs --data-dir {data_dir} && liaison serve --data-dir {data_dir}"
    )


@click.command("dev-certs")
@data_dir_option
@click.option("--host", "hostnames", multiple=True, default=("localhost", "127.0.0.1", "::1"))
def dev_certs(data_dir: Path, hostnames: tuple[str, ...]) -> None:
    """Make a local CA and a server certificate in DATA_DIR/tls for HTTPS in development.

    \b
    Examples:
      liaison dev-certs --data-dir liaison-data --host localhost --host 127.0.0.1
    """
    certs = make_dev_certificates(data_dir / "tls", list(hostnames))
    click.echo(f"CA to trust:   {certs.ca_cert}")
    click.echo(f"server cert:   {certs.server_cert}")
    click.echo(f"server key:    {certs.server_key}")
