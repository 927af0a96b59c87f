"""The access API: one router assembled from the sub-domains' routers.

* ``/access/device/…``      device-facing: decisions, offline uploads, public keys, commands
* ``/access/credentials/…`` 一码通 codes, IC cards and PINs
* ``/access/visitors/…``    visitor passes
* ``/access/biometrics/…``  optional face / voiceprint enrolment under separate consent
* ``/access/…``             access points, policies, holidays, events, analysis, anomalies
"""

from ninja import Router

from linli.access.api_admin import router as admin_router
from linli.access.api_biometrics import router as biometrics_router
from linli.access.api_credentials import router as credentials_router
from linli.access.api_device import router as device_router
from linli.access.api_visitors import router as visitors_router

router = Router()
router.add_router("/device", device_router)
router.add_router("/credentials", credentials_router)
router.add_router("/visitors", visitors_router)
router.add_router("/biometrics", biometrics_router)
router.add_router("", admin_router)
