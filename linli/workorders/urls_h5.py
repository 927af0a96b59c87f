from django.urls import path

from linli.workorders import views

app_name = "h5repairs"
urlpatterns = [
    path("", views.h5_home, name="home"),
    path("new/", views.h5_new, name="new"),
    path("<int:pk>/", views.h5_detail, name="detail"),
    path("<int:pk>/photos/<int:photo_pk>/", views.h5_photo, name="photo"),
]
