from django.urls import path

from linli.billing import views

app_name = "h5billing"
urlpatterns = [
    path("", views.h5_home, name="home"),
    path("pay/", views.h5_pay, name="pay"),
    path("cashier/<str:out_trade_no>/", views.h5_cashier, name="cashier"),
    path("payments/", views.h5_payments, name="payments"),
    path("payments/<int:pk>/receipt.pdf", views.h5_receipt, name="receipt"),
]
