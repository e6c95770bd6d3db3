"""The HTTP API, `/api/v1/`: one NinjaAPI, a router per domain app, one error shape."""

from __future__ import annotations

from ceres.accounts.api import router as accounts_router
from ceres.conversations.api import router as conversations_router
from ceres.core.apisupport import ActiveSessionAuth, CeresApi, install_error_handlers
from ceres.oncall.api import router as oncall_router
from ceres.sla.api import router as sla_router
from ceres.team.api import router as team_router
from ceres.team.tokens import TokenAuth
from ceres.tracker.api import router as tracker_router

api = CeresApi(
    title="Ceres API",
    version="1",
    description=(
        "Customer success, run as software. Authenticate with a personal token "
        "(`Authorization: Bearer ceres_…`, made with `ceres token create USERNAME` or on your "
        "profile page) or with the web session. Errors are JSON: "
        '`{"error": code, "field": name, "message": text}`.'
    ),
    auth=[TokenAuth(), ActiveSessionAuth()],
    urls_namespace="api-v1",
    docs_url="/docs",
)
install_error_handlers(api)
api.add_router("/team", team_router)
api.add_router("/accounts", accounts_router)
api.add_router("/conversations", conversations_router)
api.add_router("/sla", sla_router)
api.add_router("/tracker", tracker_router)
api.add_router("/oncall", oncall_router)
api.add_router("/oncall/integrations", "ceres.oncall.api_integrations.router")


@api.get("/ping", auth=None, tags=["meta"], summary="A trivial endpoint (benchmark baseline)")
def ping(request: object) -> dict[str, bool]:
    return {"ok": True}
