"""How the parking app reacts to what other apps announce (subscribed in ``ParkingConfig.ready``;
ADR 0008)."""

from __future__ import annotations

from linli.billing.events import BillLedgerChanged
from linli.billing.models import Bill
from linli.devices.events import PlatesRead
from linli.devices.models import Device
from linli.parking import services


def on_bill_ledger_changed(event: BillLedgerChanged) -> None:
    """Temporary-parking fees are walk-in charges in billing: follow what happens to them."""
    if event.source_type != services.SESSION_SOURCE:
        return
    bills = {b.pk: b for b in Bill.objects.filter(pk__in=event.bill_ids)}
    services.on_session_bills([bills[pk] for pk in event.bill_ids if pk in bills])


def on_plates_read(event: PlatesRead) -> None:
    """Record each plate a gate camera read (entry, exit, session, barrier)."""
    device = Device.objects.get(pk=event.device_id)
    for read in event.reads:
        services.plate_read_record(device=device, read=read)
