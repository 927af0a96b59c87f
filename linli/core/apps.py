from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        from linli.core.audit import sqlite_audit_locked

        connection.connection.create_function(
            "linli_audit_locked", 0, sqlite_audit_locked, deterministic=False
        )


class CoreConfig(AppConfig):
    name = "linli.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        connection_created.connect(_register_sqlite_functions, dispatch_uid="linli_sqlite_functions")
