from django.urls import path

from linli.workorders import views

app_name = "workorders"
urlpatterns = [
    path("", views.board, name="board"),
    path("list/", views.order_list, name="list"),
    path("new/", views.create, name="create"),
    path("mine/", views.my_orders, name="mine"),
    path("workload/", views.workload, name="workload"),
    path("rosters/", views.rosters, name="rosters"),
    path("sla/", views.sla, name="sla"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/action/", views.action, name="action"),
    path("<int:pk>/photos/<int:photo_pk>/", views.photo, name="photo"),
]
