"""What the devices layer announces (ADR 0008, ADR 0009): stored device messages for the alarm
engine, and the canonical events that vendor adapters (``linli.adapters``) decode from door
controllers and gate cameras for the access and parking apps. Plain values only; subscribers import
these classes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from linli.core.events import Event
from linli.devices.canonical import PlateRead, VendorAccessEvent


class StoredItem(NamedTuple):
    """A newly stored telemetry or event row (a tuple: cheap to make, 24,000 a second)."""

    device_id: int
    kind: str
    seq: int
    ts: datetime
    values: dict
    event: str | None
    data: dict


@dataclass(frozen=True)
class MessagesStored(Event):
    """One ingest batch stored new telemetry/event rows (duplicates left out). One event per batch,
    published inside the ingest transaction: rules evaluated on it are stored with the batch or not
    at all (the gateway then does not acknowledge and the broker redelivers)."""

    items: tuple[StoredItem, ...]


@dataclass(frozen=True)
class ConnectivityChanged(Event):
    """Devices went offline (no message within their profile's ``offline_after_minutes``) or came
    back (a message from a device marked offline was stored). Published in the transaction that
    changed ``Device.online``."""

    went_offline: tuple[int, ...]
    came_back: tuple[int, ...]


@dataclass(frozen=True)
class AccessEventsReported(Event):
    """A door controller reported access, door, alarm or status events (one push, one attach-stream
    part or one page of a catch-up search), decoded by its vendor adapter. Published in the push's
    transaction; a subscriber that stores them answers with a ``Tally`` (the device is told how many
    were stored and how many it had sent before)."""

    device_id: int
    events: tuple[VendorAccessEvent, ...]


@dataclass(frozen=True)
class PlatesRead(Event):
    """A gate camera read number plates (decoded by its vendor adapter). Published in the push's
    transaction."""

    device_id: int
    reads: tuple[PlateRead, ...]


class Tally(NamedTuple):
    """What an in-transaction subscriber did with reported events (``events.publish`` hands it back
    to the adapter, which answers the device with the sum)."""

    stored: int = 0
    duplicates: int = 0
