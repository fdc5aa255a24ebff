"""Typed dependencies of the alert exchange's endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.alerts.notify import FeedNotifier
from service.api.dependencies import component


def get_notifier(request: Request) -> FeedNotifier:
    return component(request, "notifier", FeedNotifier)


NotifierDep = Annotated[FeedNotifier, Depends(get_notifier)]
