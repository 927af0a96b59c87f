"""The v1 JSON API: one NinjaAPI, one router per app.

OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs.
"""

from ninja import NinjaAPI

from linli.access.api import router as access_router
from linli.accounts.api import router as accounts_router
from linli.accounts.auth import AUTH
from linli.adapters.routes import router as adapters_router
from linli.alarms.api import router as alarms_router
from linli.billing.api import router as billing_router
from linli.core.api import install_error_handlers
from linli.devices.api import router as devices_router
from linli.messaging.api import router as messaging_router
from linli.notices.api import router as notices_router
from linli.orgs.api import router as orgs_router
from linli.parking.api import router as parking_router
from linli.patrols.api import router as patrols_router
from linli.people.api import router as people_router
from linli.places.api import router as places_router
from linli.privacy.api import router as privacy_router
from linli.votes.api import router as votes_router
from linli.workorders.api import router as workorders_router

api = NinjaAPI(
    title="Linli 邻里 API",
    version="1",
    description="智慧社区综合管理服务平台 API。列表分页（page, page_size ≤ 100）、可筛选、可排序；"
    '错误统一为 {"error": {"code", "message", "fields"}}。',
    auth=AUTH,
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)

api.add_router("/auth", accounts_router, tags=["auth"])
api.add_router("/places", places_router, tags=["places"])
api.add_router("/people", people_router, tags=["people"])
api.add_router("/orgs", orgs_router, tags=["orgs"])
api.add_router("/privacy", privacy_router, tags=["privacy"])
api.add_router("/billing", billing_router, tags=["billing"])
api.add_router("/workorders", workorders_router, tags=["workorders"])
api.add_router("/patrols", patrols_router, tags=["patrols"])
api.add_router("/notices", notices_router, tags=["notices"])
api.add_router("/votes", votes_router, tags=["votes"])
api.add_router("/devices", adapters_router, tags=["devices"])  # push routes from the adapters' manifests
api.add_router("/devices", devices_router, tags=["devices"])
api.add_router("/alarms", alarms_router, tags=["alarms"])
api.add_router("/access", access_router, tags=["access"])
api.add_router("/parking", parking_router, tags=["parking"])
api.add_router("/messages", messaging_router, tags=["messages"])
