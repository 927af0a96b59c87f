"""Console pages for credentials (``access:credentials``): the list with filters and residents' open
requests for a card or PIN, issuing a card / PIN / 一码通 to a person, and suspend / revoke /
reactivate. A PIN is shown once, on the page that issued it (never cached)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from linli.access import pages
from linli.access.credentials import services as svc
from linli.access.models import CredentialKind
from linli.core.errors import DomainError, NotFound, PermissionDenied
from linli.core.views import positive_int, staff_page
from linli.orgs.roles import Perm
from linli.places.selectors import estate_list

PAGE_SIZE = 30


def _rows(items) -> list[dict]:
    return [
        {
            "c": c,
            "masked": svc.masked_number(c),
            "status_label": svc.status_label(c.status),
        }
        for c in items
    ]


@staff_page
def credential_list(request, actor):
    g = request.GET
    kind = g.get("kind") if g.get("kind") in CredentialKind.values else None
    status = g.get("status") if g.get("status") in svc.STATUSES else None
    estate_id = positive_int(g.get("estate"))
    q = (g.get("q") or "").strip()[:50]
    qs = svc.credential_list(actor=actor, estate_id=estate_id, kind=kind, status=status, q=q or None)
    page = Paginator(qs, PAGE_SIZE).get_page(g.get("page"))
    requests = []
    if status != svc.STATUS_REQUESTED:
        requests = list(
            svc.credential_list(actor=actor, estate_id=estate_id, status=svc.STATUS_REQUESTED)[:20]
        )
    query = g.copy()
    query.pop("page", None)
    return render(
        request,
        "access/credentials.html",
        {
            "page": page,
            "rows": _rows(page.object_list),
            "requests": _rows(requests),
            "estates": list(estate_list(actor=actor)),
            "estate_id": estate_id,
            "kind": kind,
            "status": status,
            "q": q,
            "kinds": CredentialKind.choices,
            "statuses": [(s, svc.status_label(s)) for s in svc.STATUSES],
            "query": query.urlencode(),
            "can_manage": actor.has(Perm.ACCESS_MANAGE),
        },
    )


def _persons(actor, q: str, estate_id: int | None) -> list:
    if not q or not actor.has(Perm.PEOPLE_VIEW):
        return []
    from linli.people.selectors import person_list

    return list(person_list(actor=actor, q=q, estate_id=estate_id)[:20])


@staff_page
@never_cache
def credential_issue(request, actor):
    """Find a person, then issue a card, a PIN or a (new) 一码通 identity; fulfils a request when
    opened from one (``?request=<id>``)."""
    actor.require(Perm.ACCESS_MANAGE)
    src = request.POST if request.method == "POST" else request.GET
    request_row = None
    request_id = positive_int(src.get("request"))
    if request_id:
        request_row = svc.credential_get(actor=actor, pk=request_id)
    person = None
    person_id = positive_int(src.get("person")) or (request_row.person_id if request_row else None)
    if person_id:
        person = svc.person_for_issue(actor=actor, person_id=person_id)
    kind = src.get("kind") or (request_row.kind if request_row else CredentialKind.CARD)
    if kind not in CredentialKind.values:
        kind = CredentialKind.CARD
    values = {"number": src.get("number", "")[:40], "label": src.get("label", "")[:50]}
    error = ""
    if request.method == "POST":
        if person is None:
            error = _("请选择人员")
        else:
            try:
                if kind == CredentialKind.CARD:
                    svc.credential_issue_card(
                        actor=actor,
                        person=person,
                        number=values["number"],
                        label=values["label"],
                        request=request_row,
                    )
                    messages.success(request, _("已为 %(name)s 发放门禁卡") % {"name": person.name})
                    return redirect("access:credentials")
                if kind == CredentialKind.PIN:
                    row, pin = svc.credential_issue_pin(
                        actor=actor, person=person, label=values["label"], request=request_row
                    )
                    return render(request, "access/credentials_pin.html", {"row": row, "pin": pin})
                svc.credential_issue_qr(actor=actor, person=person)
                messages.success(
                    request, _("已为 %(name)s 重新发放一码通，旧码已失效") % {"name": person.name}
                )
                return redirect("access:credentials")
            except (NotFound, PermissionDenied):
                raise
            except DomainError as exc:
                error = pages.error(exc)
    q = (request.GET.get("q") or "").strip()[:50]
    estate_id = positive_int(request.GET.get("estate"))
    return render(
        request,
        "access/credentials_issue.html",
        {
            "person": person,
            "request_row": request_row,
            "kind": kind,
            "kinds": CredentialKind.choices,
            "values": values,
            "error": error,
            "q": q,
            "persons": _persons(actor, q, estate_id),
            "can_search": actor.has(Perm.PEOPLE_VIEW),
            "estates": list(estate_list(actor=actor)),
            "estate_id": estate_id,
        },
    )


@staff_page
@require_POST
def credential_act(request, actor, pk: int, op: str):
    credential = svc.credential_get(actor=actor, pk=pk)
    reason = request.POST.get("reason", "")[:100]
    try:
        if op == "suspend":
            svc.credential_suspend(actor=actor, credential=credential, reason=reason)
            messages.success(request, _("已挂失"))
        elif op == "revoke":
            svc.credential_revoke(actor=actor, credential=credential, reason=reason)
            messages.success(request, _("已注销"))
        elif op == "reactivate":
            svc.credential_reactivate(actor=actor, credential=credential)
            messages.success(request, _("已恢复"))
        else:
            raise Http404()
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, pages.error(exc))
    return redirect("access:credentials")


urlpatterns = [
    path("credentials/", credential_list, name="credentials"),
    path("credentials/issue/", credential_issue, name="credential_issue"),
    path("credentials/<int:pk>/<str:op>/", credential_act, name="credential_act"),
]
