from django.urls import path
from django.views.generic import RedirectView

from linli.notices import views

app_name = "notices"
urlpatterns = [
    path("", views.notice_list, name="list"),
    path("new/", views.notice_create, name="create"),
    path("<int:pk>/", views.notice_detail, name="detail"),
    # The staff inbox moved to messaging; links stored in old messages still land there.
    path("inbox/", RedirectView.as_view(pattern_name="messaging:inbox", permanent=True), name="inbox"),
]
