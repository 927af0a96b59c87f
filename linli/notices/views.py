"""Console pages for notices (list, create/edit, publish/withdraw, receipt statistics); H5 pages for
residents (my notices, reading one marks it read)."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.errors import Conflict, ValidationFailed
from linli.core.listing import list_page, page_of
from linli.core.views import positive_int, resident_page, staff_page
from linli.notices import selectors, services
from linli.notices.models import NoticeCategory, NoticeStatus
from linli.notices.schemas import NoticeFilters
from linli.places.models import Region, RegionLevel
from linli.places.selectors import estate_get, estate_list

PAGE_SIZE = 20


def parse_local_datetime(value: str | None) -> datetime | None:
    """``<input type="datetime-local">`` value → aware datetime (None when empty or invalid)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if not (2000 <= dt.year <= 2200):
        return None
    return timezone.make_aware(dt) if timezone.is_naive(dt) else dt


def _targets(actor, estate_id: int | None) -> list[Region]:
    if not estate_id:
        return []
    estate = estate_get(actor=actor, pk=estate_id)
    return list(
        Region.objects.filter(
            path__startswith=estate.path, level__in=[RegionLevel.BUILDING, RegionLevel.UNIT]
        ).order_by("path")
    )


# --- console: notices --------------------------------------------------------------------------


@staff_page
def notice_list(request, actor):
    def notices(f: NoticeFilters):
        return selectors.notice_list(actor=actor, **f.selector_args())

    listing = list_page(request, notices, NoticeFilters, page_size=PAGE_SIZE)
    return render(
        request,
        "notices/list.html",
        {
            "page": listing.page,
            "filters": listing.filters,
            "estates": list(estate_list(actor=actor)),
            "statuses": NoticeStatus.choices,
            "categories": NoticeCategory.choices,
            "query": listing.query,
        },
    )


def _form_values(post) -> dict:
    return {
        "title": post.get("title", "")[:200],
        "body": post.get("body", "")[:20001],
        "category": post.get("category", ""),
        "pinned": post.get("pinned") == "on",
        "expires_at": parse_local_datetime(post.get("expires_at")),
    }


@staff_page
def notice_create(request, actor):
    actor.require("notices.manage")
    estates = list(estate_list(actor=actor))
    estate_id = positive_int(request.POST.get("estate") or request.GET.get("estate")) or (
        estates[0].pk if len(estates) == 1 else None
    )
    errors: dict = {}
    values = {"category": NoticeCategory.NOTICE}
    if request.method == "POST":
        values = _form_values(request.POST)
        try:
            estate = estate_get(actor=actor, pk=estate_id or 0)
            target_id = positive_int(request.POST.get("target"))
            target = selectors.target_get(actor=actor, pk=target_id) if target_id else None
            notice = services.notice_create(
                actor=actor,
                estate=estate,
                target=target,
                publish=request.POST.get("action") == "publish",
                **values,
            )
        except ValidationFailed as exc:
            errors = exc.fields or {"__all__": [exc.message]}
        else:
            messages.success(request, _("通知已保存"))
            return redirect("notices:detail", pk=notice.pk)
    return render(
        request,
        "notices/form.html",
        {
            "estates": estates,
            "estate_id": estate_id,
            "targets": _targets(actor, estate_id),
            "categories": NoticeCategory.choices,
            "values": values,
            "errors": errors,
        },
    )


@staff_page
def notice_detail(request, actor, pk: int):
    notice = selectors.notice_get(actor=actor, pk=pk)
    errors: dict = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "save":
                values = _form_values(request.POST)
                target_id = positive_int(request.POST.get("target"))
                target = selectors.target_get(actor=actor, pk=target_id) if target_id else None
                if notice.status == NoticeStatus.DRAFT:
                    services.notice_update(actor=actor, notice=notice, target=target, **values)
                else:
                    services.notice_update(
                        actor=actor, notice=notice, pinned=values["pinned"], expires_at=values["expires_at"]
                    )
                messages.success(request, _("已保存"))
            elif action == "publish":
                services.notice_publish(actor=actor, notice=notice)
                messages.success(request, _("通知已发布"))
            elif action == "withdraw":
                services.notice_withdraw(
                    actor=actor, notice=notice, reason=request.POST.get("reason", "")[:300]
                )
                messages.success(request, _("通知已撤回"))
            else:
                raise ValidationFailed(_("未知操作"))
        except ValidationFailed as exc:
            errors = exc.fields or {"__all__": [exc.message]}
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("notices:detail", pk=notice.pk)
        else:
            return redirect("notices:detail", pk=notice.pk)
    stats = selectors.notice_receipts(actor=actor, pk=pk) if notice.status != NoticeStatus.DRAFT else None
    return render(
        request,
        "notices/detail.html",
        {
            "notice": notice,
            "stats": stats,
            "targets": _targets(actor, notice.estate_id),
            "categories": NoticeCategory.choices,
            "errors": errors,
        },
    )


# --- H5 ----------------------------------------------------------------------------------------


@resident_page
def h5_home(request, actor):
    from linli.votes.selectors import open_vote_count

    page = page_of(request, selectors.my_notices(actor=actor), page_size=PAGE_SIZE)
    return render(
        request,
        "notices/h5_home.html",
        {
            "page": page,
            "unread_count": selectors.my_unread_count(actor=actor),
            "open_votes": open_vote_count(actor=actor),
            "h5_tab": "notices",
        },
    )


@resident_page
def h5_detail(request, actor, pk: int):
    notice = selectors.my_notice_get(actor=actor, pk=pk)
    receipt = services.notice_mark_read(actor=actor, notice=notice)
    return render(
        request, "notices/h5_detail.html", {"notice": notice, "receipt": receipt, "h5_tab": "notices"}
    )
