"""Writes for billing, by sub-domain: fee items (``fee_items``), meter readings (``meters``), bill runs,
late fees and arrears reminders (``bill_runs``), adjustments and refunds (``adjustments``), payments
online, by provider notification and at the counter (``payments``) and one-off charges raised by other
apps (``charges``); shared helpers in ``common``. Import the services from here
(``from linli.billing import services; services.bill_run_start(...)``).

Every service checks the actor's permission and scope and writes its audit record in the same
transaction. Each change to the ledger of a bill (an allocation of a paid payment, an approved
adjustment or refund line, a late fee) is followed by ``common._bills_refresh``, which recomputes the
bill's cached ``paid_fen``, ``adjusted_fen`` and ``status`` from the ledger rows; the rows lock the
bills first (``select_for_update``) so concurrent writers cannot overdraw a bill.

``bill_run_task`` is exported here too: a task queued before the split names it
``linli.billing.services.bill_run_task``, and the worker finds it by that path.
"""

from linli.billing.services.adjustments import (
    adjustment_approve,
    adjustment_reject,
    adjustment_request,
    refund_approve,
    refund_reject,
    refund_request,
)
from linli.billing.services.bill_runs import (
    arrears_remind,
    bill_run_execute,
    bill_run_start,
    bill_run_task,
    late_fee_apply,
)
from linli.billing.services.charges import (
    charge_create,
    charge_create_walk_in,
    charge_pay_counter,
    charge_pay_online,
)
from linli.billing.services.fee_items import fee_item_create, fee_item_update
from linli.billing.services.meters import meter_reading_enter, meter_readings_import
from linli.billing.services.payments import (
    payment_create_online,
    payment_notify_apply,
    payment_record_counter,
)

__all__ = [
    "adjustment_approve",
    "adjustment_reject",
    "adjustment_request",
    "arrears_remind",
    "bill_run_execute",
    "bill_run_start",
    "bill_run_task",
    "charge_create",
    "charge_create_walk_in",
    "charge_pay_counter",
    "charge_pay_online",
    "fee_item_create",
    "fee_item_update",
    "late_fee_apply",
    "meter_reading_enter",
    "meter_readings_import",
    "payment_create_online",
    "payment_notify_apply",
    "payment_record_counter",
    "refund_approve",
    "refund_reject",
    "refund_request",
]
