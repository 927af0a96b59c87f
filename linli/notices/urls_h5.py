from django.urls import path

from linli.notices import views

app_name = "h5notices"
urlpatterns = [
    path("", views.h5_home, name="home"),
    path("<int:pk>/", views.h5_detail, name="detail"),
]
