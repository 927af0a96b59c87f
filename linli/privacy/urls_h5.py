from django.urls import path

from linli.privacy import views

app_name = "h5privacy"
urlpatterns = [
    path("", views.h5_home, name="home"),
    path("export/", views.h5_export, name="export"),
    path("consents/<slug:code>/grant/", views.h5_consent_grant, name="consent_grant"),
    path("consents/<slug:code>/withdraw/", views.h5_consent_withdraw, name="consent_withdraw"),
]
