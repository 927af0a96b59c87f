"""Console pages for places (mounted at /console/places/)."""

from django.urls import path

from linli.places import views

app_name = "places"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("regions/<int:pk>/", views.region_detail, name="region_detail"),
    path("rooms/", views.rooms, name="rooms"),
    path("rooms/<int:pk>/", views.room_detail, name="room_detail"),
    path("imports/", views.imports_page, name="imports"),
    path("imports/template.xlsx", views.import_template, name="import_template"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
]
