"""Console pages of entry and exit (app namespace ``access``), one ``views`` module per sub-domain."""

from linli.access.credentials import views as credentials_views
from linli.access.insights import views as insights_views
from linli.access.points import views as points_views
from linli.access.visitors import views as visitors_views

app_name = "access"
urlpatterns = [
    *points_views.urlpatterns,
    *insights_views.urlpatterns,
    *visitors_views.urlpatterns,
    *credentials_views.urlpatterns,
]
