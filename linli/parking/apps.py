from django.apps import AppConfig


class ParkingConfig(AppConfig):
    name = "linli.parking"
    label = "parking"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "停车管理"

    def ready(self) -> None:
        # Temporary-parking fees are walk-in charges in billing: follow what happens to them.
        from linli.billing import sources
        from linli.parking import services

        sources.listen(services.SESSION_SOURCE, services.on_session_bills)
