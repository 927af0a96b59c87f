from django.urls import path

from linli.demo import views

app_name = "demo"

urlpatterns = [
    path("fire/<int:estate_id>/scenario/", views.fire_scenario, name="fire_scenario"),
]
