from django.urls import path

from linli.messaging import views

app_name = "h5messaging"
urlpatterns = [
    path("", views.h5_inbox, name="inbox"),
    path("read-all/", views.h5_read_all, name="read_all"),
    path("prefs/", views.h5_prefs, name="prefs"),
    path("<int:pk>/", views.h5_detail, name="detail"),
]
