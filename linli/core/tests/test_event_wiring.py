"""The wiring of cross-app reactions (ADR 0008): who subscribes to what, in which phase, and where
each event is published. A change here is a change of how the apps depend on each other."""

from pathlib import Path

from linli.billing.events import BillLedgerChanged
from linli.core import events
from linli.devices.events import AccessEventsReported, ConnectivityChanged, MessagesStored, PlatesRead
from linli.people.events import PersonMovedOut
from linli.privacy.events import ConsentWithdrawn

EXPECTED = {
    PersonMovedOut: [("linli.access.subscribers.on_person_moved_out", "in_transaction")],
    ConsentWithdrawn: [("linli.access.subscribers.on_consent_withdrawn", "in_transaction")],
    BillLedgerChanged: [("linli.parking.subscribers.on_bill_ledger_changed", "in_transaction")],
    MessagesStored: [("linli.alarms.subscribers.on_messages_stored", "in_transaction")],
    ConnectivityChanged: [("linli.alarms.subscribers.on_connectivity_changed", "in_transaction")],
    AccessEventsReported: [("linli.access.subscribers.on_access_events_reported", "in_transaction")],
    PlatesRead: [("linli.parking.subscribers.on_plates_read", "in_transaction")],
}


def test_each_event_has_its_expected_subscribers():
    subs = events.subscriptions()

    wiring = {t: [(s.handler_name, s.phase) for s in subs.get(t, [])] for t in EXPECTED}

    assert wiring == EXPECTED


def test_every_event_type_is_published_by_its_app_or_the_adapters_above_it():
    pubs = events.publishers()

    where = {
        c.name(): sorted({p.rsplit(":", 1)[0] for p in pubs.get(c.__name__, [])})
        for c in events.event_types()
    }

    assert where == {
        "billing.BillLedgerChanged": ["linli/billing/services/common.py"],
        "devices.AccessEventsReported": ["linli/adapters/base.py"],
        "devices.ConnectivityChanged": ["linli/devices/ingest.py", "linli/devices/services.py"],
        "devices.MessagesStored": ["linli/devices/ingest.py"],
        "devices.PlatesRead": ["linli/adapters/base.py"],
        "people.PersonMovedOut": ["linli/people/services.py"],
        "privacy.ConsentWithdrawn": ["linli/privacy/services.py"],
    }


def test_no_app_wires_reactions_by_django_signals_of_its_own():
    root = Path(events.__file__).resolve().parents[1]

    assert sorted(p.relative_to(root).as_posix() for p in root.glob("*/signals.py")) == []
