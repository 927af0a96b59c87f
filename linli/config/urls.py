"""Root URL map: console pages, resident H5 pages, the v1 API and Django admin."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from linli.api import api

handler400 = "linli.core.views.bad_request"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:home", permanent=False)),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("linli.accounts.urls")),
    path("console/", include("linli.console.urls")),
    path("console/places/", include("linli.places.urls")),
    path("console/people/", include("linli.people.urls")),
    path("console/privacy/", include("linli.privacy.urls")),
    path("console/billing/", include("linli.billing.urls")),
    path("console/workorders/", include("linli.workorders.urls")),
    path("console/patrols/", include("linli.patrols.urls")),
    path("console/notices/", include("linli.notices.urls")),
    path("console/votes/", include("linli.votes.urls")),
    path("console/messages/", include("linli.messaging.urls")),
    path("console/devices/", include("linli.devices.urls")),
    path("console/alarms/", include("linli.alarms.urls")),
    path("console/alarms/", include("linli.demo.urls")),  # the demo's fire-scenario button
    path("console/access/", include("linli.access.urls")),
    path("console/parking/", include("linli.parking.urls")),
    path("h5/billing/", include("linli.billing.urls_h5")),
    path("h5/repairs/", include("linli.workorders.urls_h5")),
    path("h5/notices/", include("linli.notices.urls_h5")),
    path("h5/votes/", include("linli.votes.urls_h5")),
    path("h5/messages/", include("linli.messaging.urls_h5")),
    path("m/patrols/", include("linli.patrols.urls_m")),
    path("h5/privacy/", include("linli.privacy.urls_h5")),
    path("h5/access/", include("linli.access.urls_h5")),
    path("v/", include("linli.access.urls_public")),
    path("h5/", include("linli.h5.urls")),
]
