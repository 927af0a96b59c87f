from django.urls import path

from linli.patrols import views

app_name = "mpatrols"
urlpatterns = [
    path("", views.m_home, name="home"),
    path("runs/<int:pk>/", views.m_run, name="run"),
    path("runs/<int:pk>/finding/", views.m_finding, name="finding"),
    path("scan/<str:code>", views.m_scan, name="scan"),
]
