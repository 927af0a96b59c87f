from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "linli.devices"
    label = "devices"
    default_auto_field = "django.db.models.BigAutoField"
