from django.apps import AppConfig


class WorkordersConfig(AppConfig):
    name = "linli.workorders"
    label = "workorders"
    default_auto_field = "django.db.models.BigAutoField"
