"""Inbox pages: the staff console (list, open = read and follow the link, mark all read, settings)
and the resident H5 (list, open = read, mark all read, settings). One set of services behind both."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.core.errors import ValidationFailed
from linli.core.views import resident_page, staff_page
from linli.messaging import selectors, services
from linli.messaging.models import EXTERNAL_CHANNELS, ChannelKind

PAGE_SIZE = 20


def _inbox(request, actor, template: str, extra: dict):
    unread = {"1": True, "0": False}.get(request.GET.get("unread", ""))
    page = Paginator(selectors.message_list(actor=actor, unread=unread), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = "unread=1" if unread else ""
    return render(request, template, {"page": page, "unread": unread, "query": query, **extra})


def _parse_time(value: str | None) -> time | None:
    try:
        return datetime.strptime((value or "").strip(), "%H:%M").time()
    except ValueError:
        return None


def _prefs(request, actor, template: str, back: str, extra: dict):
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        prefs = selectors.prefs_get(actor=actor)
        chosen = {c.category: request.POST.getlist(f"ch_{c.category}") for c in prefs.categories}
        try:
            services.prefs_update(
                actor=actor,
                channels=chosen,
                quiet_start=_parse_time(request.POST.get("quiet_start")),
                quiet_end=_parse_time(request.POST.get("quiet_end")),
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash.success(request, _("消息接收设置已保存"))
            return redirect(back)
    labels = dict(ChannelKind.choices)
    return render(
        request,
        template,
        {
            "prefs": selectors.prefs_get(actor=actor),
            "channel_choices": [(c, labels[c]) for c in EXTERNAL_CHANNELS],
            "errors": errors,
            **extra,
        },
    )


# --- console -----------------------------------------------------------------------------------


@staff_page
def inbox(request, actor):
    return _inbox(request, actor, "messaging/inbox.html", {})


@staff_page
@require_POST
def inbox_read(request, actor, pk: int):
    message = services.message_mark_read(actor=actor, message_id=pk)
    if (
        request.POST.get("go")
        and message.link
        and url_has_allowed_host_and_scheme(message.link, allowed_hosts={request.get_host()})
    ):
        return redirect(message.link)
    return redirect("messaging:inbox")


@staff_page
@require_POST
def inbox_read_all(request, actor):
    services.message_mark_all_read(actor=actor)
    return redirect("messaging:inbox")


@staff_page
def prefs(request, actor):
    return _prefs(request, actor, "messaging/prefs.html", "messaging:prefs", {})


# --- H5 ----------------------------------------------------------------------------------------


@resident_page
def h5_inbox(request, actor):
    return _inbox(request, actor, "messaging/h5_inbox.html", {"h5_tab": "home"})


@resident_page
def h5_detail(request, actor, pk: int):
    message = services.message_mark_read(actor=actor, message_id=pk)
    safe = bool(message.link) and url_has_allowed_host_and_scheme(
        message.link, allowed_hosts={request.get_host()}
    )
    return render(
        request, "messaging/h5_detail.html", {"message": message, "safe_link": safe, "h5_tab": "home"}
    )


@resident_page
@require_POST
def h5_read_all(request, actor):
    services.message_mark_all_read(actor=actor)
    return redirect("h5messaging:inbox")


@resident_page
def h5_prefs(request, actor):
    return _prefs(request, actor, "messaging/h5_prefs.html", "h5messaging:prefs", {"h5_tab": "home"})
