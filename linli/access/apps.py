from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "linli.access"
    label = "access"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "出入管理"
