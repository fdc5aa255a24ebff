"""The authenticated caller. Only request authentication constructs one."""

from __future__ import annotations

from dataclasses import dataclass

from service.protocol.errors import Forbidden


@dataclass(frozen=True)
class AuthenticatedPrincipal:
    id: str
    roles: frozenset[str]
    groups: frozenset[str]
    kid: str

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def require_role(self, *roles: str) -> None:
        """Return if the principal holds one of ``roles``; raise Forbidden otherwise."""
        if not self.roles.intersection(roles):
            raise Forbidden(f"this action needs the role {' or '.join(roles)}")


BROKER_ID = "broker"


def broker_principal() -> AuthenticatedPrincipal:
    """The broker acting on its own authority (``liaison init``); appears as actor ``broker``."""
    return AuthenticatedPrincipal(
        id=BROKER_ID, roles=frozenset({"admin"}), groups=frozenset(), kid="broker"
    )
