"""The visitor's link ``/v/<token>/`` (no login: the link token is the credential; namespace ``visit``)."""

from linli.access import views_public

app_name = "visit"
urlpatterns = [*views_public.urlpatterns]
