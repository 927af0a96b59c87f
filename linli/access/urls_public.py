"""The visitor's link ``/v/<token>/`` (no login: the link token is the credential; namespace ``visit``)."""

from linli.access.visitors import views_public

app_name = "visit"
urlpatterns = [*views_public.urlpatterns]
