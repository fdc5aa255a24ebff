"""Typed dependencies for endpoints that use the policy set in force."""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable

from fastapi import Depends, Request

from service.api.dependencies import component, get_core
from service.policy.engine import PolicyEngine
from service.protocol.errors import NotReady


def get_policy(request: Request) -> PolicyEngine:
    return component(request, "policy", PolicyEngine)


@runtime_checkable
class PolicyReloader(Protocol):
    async def reload_policy(self, actor: str = "broker") -> str:
        """Load the policy files and put them in force; the old set stays if they fail."""
        ...


def get_reloader(request: Request) -> PolicyReloader:
    core = get_core(request)
    if not isinstance(core, PolicyReloader):
        raise NotReady("policy reloading is not available")
    return core


PolicyDep = Annotated[PolicyEngine, Depends(get_policy)]
ReloaderDep = Annotated[PolicyReloader, Depends(get_reloader)]
