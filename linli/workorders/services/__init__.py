"""Writes for work orders, by sub-domain: creation and the state machine (``lifecycle``), dispatch and
duty rosters (``dispatch``), service levels and the SLA check (``sla``), photos (``photos``) and
charges billed to the room (``charges``); shared checks in ``common``. Import the services from here
(``from linli.workorders import services; services.workorder_create(...)``).

State machine (``TRANSITIONS``)::

    new → assigned → accepted → in_progress → done → rated
    cancel: new / assigned / accepted → cancelled      (reporter, or staff with workorders.manage)
    reopen: done / rated → assigned                     (reporter within 7 days of completion, or staff)
    assign: new / assigned / accepted → assigned        (staff: dispatch and reassign)

Every illegal transition raises ``Conflict`` (409) naming the current state and changes nothing.
Order of checks: scope (404) → role/permission (403) → state (409) → input (400).
"""

from linli.workorders.services.charges import MAX_CHARGE_FEN, workorder_add_charge
from linli.workorders.services.common import (
    ACTION_LABELS,
    TRANSITIONS,
    is_reporter,
    is_technician_for,
)
from linli.workorders.services.dispatch import (
    on_duty,
    open_counts,
    roster_create,
    roster_delete,
    roster_update,
    workorder_dispatch,
)
from linli.workorders.services.lifecycle import (
    workorder_accept,
    workorder_assign,
    workorder_cancel,
    workorder_comment,
    workorder_create,
    workorder_finish,
    workorder_rate,
    workorder_reopen,
    workorder_start,
)
from linli.workorders.services.photos import workorder_photo_add
from linli.workorders.services.sla import DEFAULT_SLA, sla_minutes, sla_policy_set, workorder_sla_check

__all__ = [
    "ACTION_LABELS",
    "DEFAULT_SLA",
    "MAX_CHARGE_FEN",
    "TRANSITIONS",
    "is_reporter",
    "is_technician_for",
    "on_duty",
    "open_counts",
    "roster_create",
    "roster_delete",
    "roster_update",
    "sla_minutes",
    "sla_policy_set",
    "workorder_accept",
    "workorder_add_charge",
    "workorder_assign",
    "workorder_cancel",
    "workorder_comment",
    "workorder_create",
    "workorder_dispatch",
    "workorder_finish",
    "workorder_photo_add",
    "workorder_rate",
    "workorder_reopen",
    "workorder_sla_check",
    "workorder_start",
]
