from django.urls import path

from linli.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("read-all/", views.inbox_read_all, name="read_all"),
    path("prefs/", views.prefs, name="prefs"),
    path("<int:pk>/read/", views.inbox_read, name="read"),
]
