from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "linli.privacy"
    label = "privacy"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "隐私与数据保护"

    def ready(self) -> None:
        # Declarations for Django's own models (auth, sessions, admin log, ...): R1 covers every table.
        from linli.core import builtin_catalog  # noqa: F401
