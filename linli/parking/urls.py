from django.urls import path

from linli.parking import views

app_name = "parking"
urlpatterns = [
    path("", views.home, name="home"),
    path("permits/", views.permits, name="permits"),
    path("fee-rule/", views.fee_rule, name="fee_rule"),
    path("blocked/", views.blocked, name="blocked"),
    path("booth/", views.booth, name="booth"),
    path("events/", views.events, name="events"),
    path("sessions/", views.sessions, name="sessions"),
]
