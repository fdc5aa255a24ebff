"""A live broker outside the ASGI lifespan: for the demo, the benchmarks and the tests.

Three ways to run what ``liaison serve`` runs, each in one place:

* ``build_runtime`` / ``open_runtime``: the ``Runtime`` that ``service.app``'s lifespan
  builds (engine, sessionmaker, migrations checked, broker keys, integrator, policy), without
  HTTP and without background tasks, for code that drives the domain directly;
* ``serve_app``: an ASGI app under uvicorn in the current event loop, on a free port;
* ``LiveServer``: ``python -m service.cli serve`` in a subprocess, ready once ``/v1/ready``
  answers 200 (over HTTPS with the dev CA when given TLS files).

A composition root: it may import anything in ``service`` except ``service.cli``, and nothing
that only tests need.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import httpx

from service.protocol.clock import Clock
from service.runtime import Runtime, build_runtime, close_runtime

__all__ = ["build_runtime", "close_runtime"]
from service.settings import Settings

LOOPBACK = "127.0.0.1"


class ServerDidNotStart(RuntimeError):
    """A live server exited or did not become ready in time; the message carries its log."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on ``host`` at the time of the call (another process may take it
    before it is bound again: good enough for tests and benchmarks on loopback)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class TLSFiles:
    """The server certificate, its key, and the CA that clients trust to verify it."""

    cert: Path
    key: Path
    ca: Path

    @classmethod
    def of_data_dir(cls, data_dir: Path) -> TLSFiles:
        """The files ``liaison dev-certs`` writes under ``DATA_DIR/tls``."""
        tls = data_dir / "tls"
        return cls(cert=tls / "server.pem", key=tls / "server-key.pem", ca=tls / "ca.pem")

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context trusting only ``ca``."""
        return ssl.create_default_context(cafile=str(self.ca))


def base_url(port: int, tls: TLSFiles | None) -> str:
    """``https://localhost:PORT`` with TLS (the dev certificate names ``localhost``), else
    ``http://127.0.0.1:PORT``."""
    return f"https://localhost:{port}" if tls else f"http://{LOOPBACK}:{port}"


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, clock: Clock | None = None, *, load_policy: bool = True
) -> AsyncIterator[Runtime]:
    """``build_runtime`` for the duration of the block, closed whatever happens."""
    runtime = await build_runtime(settings, clock, load_policy=load_policy)
    try:
        yield runtime
    finally:
        await close_runtime(runtime)


@contextlib.asynccontextmanager
async def serve_app(
    app: Any,
    *,
    tls: TLSFiles | None = None,
    port: int | None = None,
    lifespan: Literal["on", "off"] = "on",
    log_level: str = "warning",
) -> AsyncIterator[str]:
    """Serve the ASGI ``app`` on loopback with uvicorn in this event loop; yields its base
    URL once it accepts connections, and shuts it down after the block.

    ``lifespan="off"`` for an app whose lifespan is already running. Raises
    ServerDidNotStart (from the server's error, if any) if it stops before it has started.
    """
    import uvicorn

    port = port or free_port()
    config = uvicorn.Config(
        app,
        host=LOOPBACK,
        port=port,
        lifespan=lifespan,
        log_level=log_level,
        ssl_certfile=str(tls.cert) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(), name=f"uvicorn-{port}")
    while not server.started:
        if serving.done():
            error = serving.exception()
            raise ServerDidNotStart(f"the server on port {port} stopped while starting") from error
        await asyncio.sleep(0.02)
    try:
        yield base_url(port, tls)
    finally:
        server.should_exit = True
        await serving


class LiveServer:
    """``python -m service.cli serve`` in a subprocess on a free loopback port.

    ``with LiveServer(...) as server`` (or ``async with``) starts it, waits until
    ``GET /v1/ready`` answers 200 (trusting only ``tls.ca`` when serving HTTPS) and
    terminates it after the block. The environment is this process's, with
    ``LIAISON_ENV=development`` and then ``env`` on top. The server's output goes to
    ``log_path`` (default: a temporary file), which a ServerDidNotStart error quotes.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        tls: TLSFiles | None = None,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.tls = tls
        self.workers = workers
        self.env = {**os.environ, "LIAISON_ENV": "development", **(env or {})}
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self.port = free_port()
        self.base_url = base_url(self.port, tls)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[str] | None = None
        self._owns_log = False

    def command(self) -> list[str]:
        """The ``liaison serve`` command line this server runs."""
        command = [sys.executable, "-m", "service.cli", "serve", "--data-dir", str(self.data_dir)]
        if self.database_url:
            command += ["--database", self.database_url]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        if self.tls:
            command += ["--tls-cert", str(self.tls.cert), "--tls-key", str(self.tls.key)]
        return command

    def start(self) -> None:
        """Start the subprocess (not waiting for it to be ready); raises RuntimeError if it
        is already running."""
        if self._process is not None:
            raise RuntimeError("the server is already started")
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix="liaison-serve-", suffix=".log")
            os.close(handle)
            self.log_path, self._owns_log = Path(name), True
        self._log = self.log_path.open("w")
        self._process = subprocess.Popen(
            self.command(), env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self) -> None:
        """Block until ``/v1/ready`` answers 200; raises ServerDidNotStart, with the server's
        log, if the process exits or ``ready_timeout`` passes first."""
        if self._process is None:
            raise RuntimeError("the server is not started")
        verify: ssl.SSLContext | bool = self.tls.client_context() if self.tls else True
        deadline = time.monotonic() + self.ready_timeout
        with httpx.Client(verify=verify, timeout=5) as client:
            while True:
                try:
                    if client.get(self.base_url + "/v1/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self._process.poll() is not None:
                    raise ServerDidNotStart(f"the server exited: {self.log()}")
                if time.monotonic() > deadline:
                    raise ServerDidNotStart(f"the server was not ready in time: {self.log()}")
                time.sleep(0.1)

    def log(self) -> str:
        """What the server has written so far."""
        if self._log is not None:
            self._log.flush()
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        """The pid of the ``liaison serve`` process (the server itself with one worker)."""
        if self._process is None:
            raise ServerDidNotStart("the server is not started")
        return self._process.pid

    def kill(self) -> int:
        """SIGKILL the server (a crash, for tests) and reap it; returns its exit status.
        ``start()`` may then restart it on the same port, data directory and database."""
        if self._process is None:
            raise ServerDidNotStart("the server is not started")
        self._process.kill()
        status = self._process.wait()
        self._process = None
        return status

    def stop(self, timeout: float = 20.0) -> None:
        """Terminate the server and wait for it (killing it after ``timeout`` seconds)."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._owns_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path, self._owns_log = None, False

    def __enter__(self) -> LiveServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LiveServer:
        self.start()
        try:
            await asyncio.to_thread(self.wait_ready)
        except BaseException:
            await asyncio.to_thread(self.stop)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
