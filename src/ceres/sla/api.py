from __future__ import annotations

import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from ceres.sla import selectors

router = Router(tags=["sla"])


class PreviewIn(Schema):
    policy: str
    received: datetime.datetime
    priority: str | None = None


class PreviewOut(Schema):
    target: str
    due: datetime.datetime


@router.post("/preview", response=list[PreviewOut], summary="When a policy's targets fall due")
def preview(request: HttpRequest, payload: PreviewIn) -> list[PreviewOut]:
    return [
        PreviewOut(target=line.target, due=line.due)
        for line in selectors.preview(policy_key=payload.policy, received_at=payload.received)
    ]
