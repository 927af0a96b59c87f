from django.apps import AppConfig


class H5Config(AppConfig):
    name = "linli.h5"
    label = "h5"
    default_auto_field = "django.db.models.BigAutoField"
