from django.urls import path

from linli.privacy import views

app_name = "privacy"
urlpatterns = [
    path("audit/", views.audit, name="audit"),
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/export/", views.catalog_export, name="catalog_export"),
]
