"""Console pages of entry and exit (app namespace ``access``)."""

from linli.access import views_console, views_credentials, views_guard

app_name = "access"
urlpatterns = [*views_console.urlpatterns, *views_guard.urlpatterns, *views_credentials.urlpatterns]
