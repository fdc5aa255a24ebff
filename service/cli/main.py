"""The ``liaison`` command.

Sub-command modules are imported only when their command runs (``LiaisonGroup``), so that
``liaison --help`` and the client commands never import the server's stack (SQLAlchemy,
Alembic, FastAPI, uvicorn, cedarpy). Every exception escaping a command goes through
``service.cli.errors``: one line on stderr and a non-zero exit; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from service.cli.common import data_dir_option, database_option, run, settings_for

if TYPE_CHECKING:
    from service.settings import Settings

#: name -> (module, attribute, one-line help shown by ``liaison --help``).
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("service.cli.setup", "init", "Create the data directory, schema, keys, first admin."),
    "dev-certs": ("service.cli.setup", "dev_certs", "Make a local CA and server certificate."),
    "agency": ("service.cli.agency", "agency", "Register agencies and manage their keys."),
    "alert": ("service.cli.alerts", "alert", "Post, inspect, withdraw and answer alerts."),
    "feed": ("service.cli.feed", "feed", "Poll your feed of alerts, encrypted to you alone."),
    "review": ("service.cli.review", "review", "Reviewers: list, read and decide review cases."),
    "audit": ("service.cli.audit", "audit", "Verify and search the broker's audit log."),
    "report": ("service.cli.report", "report", "The transparency report for a period."),
    "purges": ("service.cli.report", "purges", "Withdrawn/cancelled alerts and their purges."),
    "policy": ("service.cli.policy", "policy", "Validate, test and reload the policies."),
    "db": ("service.cli.database", "db", "Database schema migrations."),
    "kek": ("service.cli.kek", "kek", "Make a new key-encryption key; rotate the store onto it."),
    "demo": ("service.cli.demo", "demo", "Run a fictional network end to end over HTTPS."),
}


class LiaisonGroup(click.Group):
    """A group that imports sub-commands on demand and turns user errors into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module, attribute, _ = LAZY_COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, LAZY_COMMANDS[name][2])
            if name in LAZY_COMMANDS
            else (name, self.commands[name].get_short_help_str(60))
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from service.cli.errors import to_click

        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            converted = to_click(error, _url_of(ctx))
            if converted is None:
                raise
            raise converted from None


def _url_of(ctx: click.Context) -> str | None:
    url = ctx.meta.get("liaison.url")
    return str(url) if url else None


@click.group(
    cls=LiaisonGroup,
    epilog="Run `liaison COMMAND --help` for a command's options and examples.",
)
@click.version_option(package_name="liaison")
@click.option(
    "--debug",
    is_flag=True,
    envvar="LIAISON_DEBUG",
    show_envvar=True,
    help="Show the full traceback of an error instead of one line.",
)
def main(debug: bool) -> None:
    """Liaison: a broker for signed, policy-gated, audited alert sharing between agencies.

    \b
    Examples:
      liaison dev --data-dir liaison-data
      export LIAISON_URL=https://localhost:8443 LIAISON_CA=liaison-data/tls/ca.pem
      liaison agency list --key liaison-data/admin.jwk
    """


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
    """Run the HTTP(S) server. Refuses a database whose migrations are not current, and a
    key-encryption key that does not open the broker's keys.

    \b
    Examples:
      liaison serve --data-dir liaison-data --tls-cert cert.pem --tls-key key.pem
      LIAISON_ENV=production LIAISON_KEK=... liaison serve --database postgresql+asyncpg://...
    """
    import uvicorn

    from service.protocol.errors import LiaisonError

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
    from service.api.metrics import prepare_multiprocess

    # Several workers share their counters through a directory (docs/operations.md, Metrics).
    prepare_multiprocess(workers)
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
    """Migrations current, the KEK readable and able to open the broker's keys (a wrong
    KEK would otherwise fail inside the server's start-up with a traceback)."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from service.broker.keys import load_broker_keys, read_kek
    from service.db.engine import make_engine
    from service.db.migrations import ensure_current

    engine = make_engine(settings.resolved_database_url)
    try:
        await ensure_current(engine)
        kek = read_kek(settings)
        async with AsyncSession(engine) as session:
            await load_broker_keys(session, kek)
    finally:
        await engine.dispose()


@main.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Prefix: writes PREFIX.sign.jwk, PREFIX.enc.jwk and PREFIX.public.json.",
)
@click.option("--valid-days", type=int, default=None, help="Set not_after this many days ahead.")
def keygen(out: Path, valid_days: int | None) -> None:
    """Make an agency's Ed25519 signing and X25519 encryption key pairs as JWKs.

    Name the prefix after the agency id: `feed poll` finds the agency and its
    encryption keys from the file names.

    \b
    Examples:
      liaison keygen --out fr-police
      # fr-police.sign.jwk   private signing key (--key)
      # fr-police.enc.jwk    private encryption key (feed poll decrypts with it)
      # fr-police.public.json  public keys for `liaison agency add --public`
    """
    from datetime import timedelta

    from service.protocol.clock import SystemClock
    from service.protocol.crypto import EncryptionPrivateKey, SigningPrivateKey

    signing, encryption = SigningPrivateKey.generate(), EncryptionPrivateKey.generate()
    public: dict[str, list[dict[str, str]]] = {
        "signing_keys": [signing.public.to_jwk()],
        "encryption_keys": [encryption.public.to_jwk()],
    }
    if valid_days is not None:
        not_after = (SystemClock().now() + timedelta(days=valid_days)).isoformat()
        for jwk in (*public["signing_keys"], *public["encryption_keys"]):
            jwk["not_after"] = not_after
    from service.cli.common import write_private_jwk

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
    """Development server in one step: init and dev-certs if needed, then HTTPS on SQLite.

    \b
    Examples:
      liaison dev --data-dir liaison-data
    """
    from service.cli.setup import dev_certs, init

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
