"""Client-side monitoring of the audit log: every partner checks that the log only grows.

A monitor remembers the last checkpoint it verified. Each new checkpoint must be signed by
the broker's checkpoint key and proved, by a consistency proof the broker serves to any
authenticated principal, to extend the remembered one. A broker that truncates or rewrites
its log after a partner has seen a checkpoint is caught at that partner's next check,
without the partner being an auditor.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from service.client.log_source import AuditReader, HttpLogSource
from service.protocol.crypto import KeyFormatError
from service.protocol.logverify import (
    LogVerificationError,
    open_checkpoint,
    verify_extension,
)
from service.protocol.note import Checkpoint, NoteVerifier


class LogMonitor:
    """Accepts a checkpoint only if it is signed and extends the last one accepted.

    ``vkey`` pins the broker's C2SP verifier key; without it the key (and origin) are read
    from ``GET /v1/broker`` on first use and then kept, i.e. trusted on first use.
    ``origin`` defaults to the broker's, or to the pinned key's name (the broker signs under
    its origin). With ``state_file`` the last accepted signed note survives restarts.
    Raises KeyFormatError at construction if ``vkey`` is malformed.
    """

    def __init__(
        self,
        *,
        vkey: str | None = None,
        origin: str | None = None,
        state_file: Path | None = None,
    ) -> None:
        self._verifier = NoteVerifier.from_vkey(vkey) if vkey is not None else None
        self._origin = origin
        self._state_file = state_file
        self._last: Checkpoint | None = None
        self._loaded = False
        # Checks of one monitor run one at a time, so that "last" only moves forward.
        self._lock = asyncio.Lock()

    @property
    def last(self) -> Checkpoint | None:
        """The last checkpoint accepted in this process (None before the first check)."""
        return self._last

    async def check(self, client: AuditReader) -> Checkpoint:
        """Fetch the broker's latest checkpoint and accept it as ``observe`` does."""
        return await self.observe(client, await client.audit_checkpoint())

    async def observe(self, client: AuditReader, note: str) -> Checkpoint:
        """Verify ``note`` and prove it extends the remembered checkpoint; remember it.

        The first checkpoint ever seen (no memory, no state file) is accepted on its
        signature alone. Returns the verified checkpoint. Raises LogVerificationError if the
        note is not signed by the broker's key for the origin, if the remembered state does
        not verify, or if the log shrank or was rewritten; LiaisonAPIError if the broker
        refuses a request. On any failure the remembered checkpoint is unchanged.
        """
        async with self._lock:
            verifier, origin = await self._trust(client)
            last = self._remembered(verifier, origin)
            checkpoint = open_checkpoint(note, verifier, origin)
            if last is not None:
                await verify_extension(HttpLogSource(client), last, checkpoint)
            self._remember(checkpoint, note)
            return checkpoint

    async def _trust(self, client: AuditReader) -> tuple[NoteVerifier, str]:
        if self._verifier is None:
            identity = await client.broker()
            try:
                self._verifier = NoteVerifier.from_vkey(str(identity["checkpoint_vkey"]))
            except (KeyError, KeyFormatError):
                raise LogVerificationError("the broker published no valid checkpoint key") from None
            if self._origin is None:
                self._origin = str(identity.get("origin") or self._verifier.name)
        if self._origin is None:
            self._origin = self._verifier.name
        return self._verifier, self._origin

    def _remembered(self, verifier: NoteVerifier, origin: str) -> Checkpoint | None:
        if not self._loaded:
            self._loaded = True
            if self._state_file is not None and self._state_file.exists():
                # A state file that does not verify is an error, not a fresh start: starting
                # over would accept exactly the rewritten log the file was kept to catch.
                try:
                    self._last = open_checkpoint(self._state_file.read_text(), verifier, origin)
                except LogVerificationError:
                    self._loaded = False
                    raise LogVerificationError(
                        f"the remembered checkpoint in {self._state_file} does not verify"
                    ) from None
        return self._last

    def _remember(self, checkpoint: Checkpoint, note: str) -> None:
        if self._state_file is not None and (self._last is None or checkpoint != self._last):
            save_checkpoint_note(self._state_file, note)
        self._last = checkpoint


def save_checkpoint_note(path: Path, note: str) -> None:
    """Replace ``path`` with ``note`` atomically, so a crash never leaves half a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(note)
    os.replace(temporary, path)
