from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    name = "linli.alarms"
    label = "alarms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from linli.alarms import subscribers
        from linli.core import events
        from linli.devices.events import ConnectivityChanged, MessagesStored

        events.subscribe(MessagesStored, subscribers.on_messages_stored)
        events.subscribe(ConnectivityChanged, subscribers.on_connectivity_changed)
