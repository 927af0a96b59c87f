"""Demo-only pages: the fire scenario button on the alarms' fire-safety overview drives the device
simulator (the demo sits above every app; alarms never imports it)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.alarms.views import may_trigger_demo
from linli.core.errors import DomainError, NotFound, PermissionDenied
from linli.core.views import error_text, staff_page
from linli.demo.simulator import fire_scenario_trigger
from linli.places.selectors import estate_get


@staff_page
@require_POST
def fire_scenario(request, actor, estate_id: int):
    estate = estate_get(actor=actor, pk=estate_id)
    if not may_trigger_demo(actor):
        raise PermissionDenied()
    try:
        fire_scenario_trigger(actor=actor, estate=estate)
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("已触发演示火警场景，告警将在数秒内出现"))
    return redirect("alarms:fire_overview")
