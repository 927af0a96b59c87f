from django.urls import path

from linli.devices import views

app_name = "devices"
urlpatterns = [
    path("", views.device_list, name="list"),
    path("new/", views.device_create, name="create"),
    path("import/", views.devices_import, name="import"),
    path("import/template.csv", views.import_template, name="import_template"),
    path("profiles/", views.profiles, name="profiles"),
    path("<int:pk>/", views.device_detail, name="detail"),
    path("<int:pk>/<str:op>/", views.device_act, name="act"),
]
