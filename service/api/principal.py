"""The authenticated caller. Only request authentication constructs one.

``AuthenticatedPrincipal`` refuses to be built without this module's private proof. Request
authentication (``service.auth.authenticate``) claims the one constructor that holds it, at
import, with ``claim_principal_mint``; a second claim fails. The broker's own principal and
``unsafe_principal`` (for in-process tools such as the benchmarks, named as the house rules
name anything that bypasses a check) are the only other ways to get one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from service.protocol.errors import Forbidden
from service.protocol.vocabulary import Role

_ROLE_VALUES = frozenset(role.value for role in Role)
_PROOF = object()
_claimed: list[bool] = []

PrincipalMint = Callable[[str, frozenset[Role], frozenset[str], str], "AuthenticatedPrincipal"]


def known_roles(names: Iterable[str]) -> frozenset[Role]:
    """The roles among ``names``; a name that is not a Role grants nothing (fail closed)."""
    return frozenset(Role(name) for name in names if name in _ROLE_VALUES)


@dataclass(frozen=True)
class AuthenticatedPrincipal:
    id: str
    roles: frozenset[Role]
    groups: frozenset[str]
    kid: str
    _proof: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._proof is not _PROOF:
            raise TypeError("only request authentication makes an AuthenticatedPrincipal")

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def require_role(self, *roles: Role) -> None:
        """Return if the principal holds one of ``roles``; raise Forbidden otherwise."""
        if not self.roles.intersection(roles):
            raise Forbidden(f"this action needs the role {' or '.join(roles)}")


BROKER_ID = "broker"


def broker_principal() -> AuthenticatedPrincipal:
    """The broker acting on its own authority (``liaison init``); appears as actor ``broker``."""
    return _mint(BROKER_ID, frozenset({Role.ADMIN}), frozenset(), "broker")


def _mint(
    id: str, roles: frozenset[Role], groups: frozenset[str], kid: str
) -> AuthenticatedPrincipal:
    return AuthenticatedPrincipal(id, roles, groups, kid, _PROOF)


def claim_principal_mint() -> PrincipalMint:
    """The constructor of authenticated principals, handed out once (to request
    authentication, at its import). Raises RuntimeError on a second claim."""
    if _claimed:
        raise RuntimeError("the principal constructor was already claimed")
    _claimed.append(True)
    return _mint


def unsafe_principal(
    id: str, roles: frozenset[Role], groups: frozenset[str] = frozenset(), kid: str = "unsafe"
) -> AuthenticatedPrincipal:
    """A principal that no request authenticated: only for in-process tools (benchmarks)
    that call domain services directly. Never reachable from a request."""
    return _mint(id, roles, groups, kid)
