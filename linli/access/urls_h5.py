"""Resident phone pages: 一码通, visitor invitations, optional face / voiceprint (namespace ``h5access``)."""

from linli.access import views_biometrics, views_h5

app_name = "h5access"
urlpatterns = [*views_h5.urlpatterns, *views_biometrics.urlpatterns]
