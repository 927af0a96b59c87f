from django.urls import path

from linli.patrols import views

app_name = "patrols"
urlpatterns = [
    path("", views.home, name="home"),
    path("routes/", views.routes, name="routes"),
    path("routes/<int:pk>/", views.route_detail, name="route_detail"),
    path("routes/<int:pk>/qr/", views.qr_sheet, name="qr_sheet"),
    path("runs/", views.runs, name="runs"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("photos/<int:pk>/", views.photo, name="photo"),
]
