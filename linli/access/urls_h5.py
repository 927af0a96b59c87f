"""Resident phone pages: 一码通, visitor invitations, optional face / voiceprint (namespace ``h5access``)."""

from linli.access.biometrics import views_h5 as biometrics_views
from linli.access.credentials import views_h5 as credentials_views
from linli.access.visitors import views_h5 as visitors_views

app_name = "h5access"
urlpatterns = [*credentials_views.urlpatterns, *visitors_views.urlpatterns, *biometrics_views.urlpatterns]
