"""Typed dependency for endpoints that use the broker's keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.api.dependencies import component
from service.broker.keys import BrokerKeys


def get_broker_keys(request: Request) -> BrokerKeys:
    return component(request, "broker_keys", BrokerKeys)


BrokerKeysDep = Annotated[BrokerKeys, Depends(get_broker_keys)]
