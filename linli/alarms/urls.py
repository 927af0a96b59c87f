from django.urls import path

from linli.alarms import views

app_name = "alarms"
urlpatterns = [
    path("", views.live, name="live"),
    path("history/", views.history, name="history"),
    path("rules/", views.rules, name="rules"),
    path("rules/<int:pk>/toggle/", views.rule_toggle, name="rule_toggle"),
    path("fire/", views.fire_overview, name="fire_overview"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/<str:op>/", views.act, name="act"),
]
