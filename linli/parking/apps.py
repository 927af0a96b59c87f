from django.apps import AppConfig


class ParkingConfig(AppConfig):
    name = "linli.parking"
    label = "parking"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "停车管理"
