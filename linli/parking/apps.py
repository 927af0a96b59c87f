from django.apps import AppConfig


class ParkingConfig(AppConfig):
    name = "linli.parking"
    label = "parking"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "停车管理"

    def ready(self) -> None:
        from linli.billing.events import BillLedgerChanged
        from linli.core import events
        from linli.devices.events import PlatesRead
        from linli.parking import subscribers

        events.subscribe(BillLedgerChanged, subscribers.on_bill_ledger_changed)
        events.subscribe(PlatesRead, subscribers.on_plates_read)
