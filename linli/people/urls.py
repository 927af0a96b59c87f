from django.urls import path

from linli.people import views

app_name = "people"
urlpatterns = [
    path("", views.persons, name="persons"),
    path("persons/<int:pk>/", views.person_detail, name="person_detail"),
    path("imports/", views.imports_page, name="imports"),
    path("imports/template.xlsx", views.import_template, name="import_template"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
]
