from django.urls import path

from linli.votes import views

app_name = "h5votes"
urlpatterns = [
    path("", views.h5_list, name="list"),
    path("<int:pk>/", views.h5_vote, name="vote"),
    path("<int:pk>/verify/", views.h5_verify, name="verify"),
]
