from django.urls import path

from linli.billing import views

app_name = "billing"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("runs/start/", views.run_start, name="run_start"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("fee-items/", views.fee_items, name="fee_items"),
    path("readings/", views.readings, name="readings"),
    path("readings/template.xlsx", views.readings_template, name="readings_template"),
    path("bills/", views.bills, name="bills"),
    path("bills/<int:pk>/", views.bill_detail, name="bill_detail"),
    path("arrears/", views.arrears, name="arrears"),
    path("adjustments/", views.adjustments, name="adjustments"),
    path("counter/", views.counter, name="counter"),
    path("payments/", views.payments, name="payments"),
    path("payments/<int:pk>/receipt.pdf", views.receipt, name="receipt"),
    path("refunds/", views.refunds, name="refunds"),
]
