"""The access API: one router assembled from the sub-domains' routers.

* ``/access/device/…``      device-facing: decisions, offline uploads, public keys, commands (``gate``)
* ``/access/credentials/…`` 一码通 codes, IC cards and PINs (``credentials``)
* ``/access/visitors/…``    visitor passes (``visitors``)
* ``/access/biometrics/…``  optional face / voiceprint enrolment under separate consent (``biometrics``)
* ``/access/…``             access points, policies, holidays, settings (``points``); events, analysis,
  anomalies (``insights``)

ninja derives an operationId from the view's module; clients generated from ``docs/openapi.json`` call
the operations by those names, so each sub-router keeps the module name its routes had before the
app was split into sub-domain packages (ADR 0012).
"""

from ninja import Router

from linli.access.biometrics.api import device_router as biometrics_device_router
from linli.access.biometrics.api import router as biometrics_router
from linli.access.credentials.api import router as credentials_router
from linli.access.gate.api import router as device_router
from linli.access.insights.api import router as insights_router
from linli.access.points.api import router as points_router
from linli.access.visitors.api import router as visitors_router


def _operation_ids(sub: Router, module: str) -> Router:
    """Name the operations of ``sub`` ``<module>_<view name>`` (call it before mounting ``sub``)."""
    for path_view in sub.path_operations.values():
        for operation in path_view.operations:
            operation.operation_id = operation.operation_id or f"{module}_{operation.view_func.__name__}"
    return sub


_operation_ids(biometrics_device_router, "linli_access_api_biometrics")  # mounted on biometrics_router
router = Router()
router.add_router("/device", _operation_ids(device_router, "linli_access_api_device"))
router.add_router("/credentials", _operation_ids(credentials_router, "linli_access_api_credentials"))
router.add_router("/visitors", _operation_ids(visitors_router, "linli_access_api_visitors"))
router.add_router("/biometrics", _operation_ids(biometrics_router, "linli_access_api_biometrics"))
router.add_router("", _operation_ids(points_router, "linli_access_api_admin"))
router.add_router("", _operation_ids(insights_router, "linli_access_api_admin"))
