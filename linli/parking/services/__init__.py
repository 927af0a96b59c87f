"""Writes of the parking app: fee rules (``rules``), permits billed through billing (``permits``), the
block list (``blocklist``), plate reads from the gate cameras (``gate``), parking sessions settled at
the booth or online, waived, and manual release (``booth``), and retention purges (``retention``).

``plate_read_record`` is the entry point of the camera adapters. Every read is stored as a
``PlateEvent`` with a decision:

* not a valid plate, or read with low confidence → category ``unknown``, denied (the guard decides);
* entry of a blocked plate → denied, and the guards of the estate are notified (plate only);
* a resident vehicle with a valid permit → allowed, no session;
* otherwise a resident vehicle without permit, a visitor (plate on an active visitor pass) or a
  temporary vehicle → a parking session opens if a temporary space is free, else denied ``full``;
* on exit the open session closes and its fee is computed by the estate's rule; a fee due keeps the
  barrier closed (``unpaid``) until the fee is paid (booth, billing counter or online: the barrier is
  then opened by a ``DeviceCommand``) or a guard releases the vehicle with a reason (audited).

Staff changes check the permission and the scope and write their audit record in the same
transaction. Temporary fees are collected as walk-in charges in billing (``Bill.source_type``
``parking.session``); billing calls ``on_session_bills`` back whenever such a bill's ledger changes,
so every way of paying settles the session the same way.
"""

from linli.parking.services.blocklist import blocked_plate_add, blocked_plate_lift
from linli.parking.services.booth import (
    barrier_release,
    on_session_bills,
    session_pay_online,
    session_settle,
    session_waive,
)
from linli.parking.services.common import (
    LONG_TERM_UNTIL,
    PERMIT_SOURCE,
    SESSION_SOURCE,
    active_rule,
    fee_spec,
    session_fee,
)
from linli.parking.services.gate import plate_read_record, temporary_available
from linli.parking.services.permits import permit_cancel, permit_create, permit_renew, permits_expire
from linli.parking.services.retention import purge_passages, purge_pictures, purge_records
from linli.parking.services.rules import fee_rule_activate, fee_rule_create

__all__ = [
    "LONG_TERM_UNTIL",
    "PERMIT_SOURCE",
    "SESSION_SOURCE",
    "active_rule",
    "barrier_release",
    "blocked_plate_add",
    "blocked_plate_lift",
    "fee_rule_activate",
    "fee_rule_create",
    "fee_spec",
    "on_session_bills",
    "permit_cancel",
    "permit_create",
    "permit_renew",
    "permits_expire",
    "plate_read_record",
    "purge_passages",
    "purge_pictures",
    "purge_records",
    "session_fee",
    "session_pay_online",
    "session_settle",
    "session_waive",
    "temporary_available",
]
