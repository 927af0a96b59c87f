"""How the alarm engine hears about devices (subscribed in ``AlarmsConfig.ready``; ADR 0008). Both
run in the publisher's transaction: alarms raised on a batch are stored with it or not at all."""

from __future__ import annotations

from linli.alarms import engine
from linli.devices.events import ConnectivityChanged, MessagesStored


def on_messages_stored(event: MessagesStored) -> None:
    """Evaluate the rules on one ingest batch's newly stored rows."""
    engine.evaluate(event.items)


def on_connectivity_changed(event: ConnectivityChanged) -> None:
    """Raise offline alarms, and clear them for devices that came back."""
    engine.offline_changed(event.went_offline, event.came_back)
