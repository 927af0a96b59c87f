"""Console pages for votes (list, create, detail with live participation, open/close, result) and
H5 pages for owners (my votes, the ballot page, result and verification)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from linli.core.errors import Conflict, ValidationFailed
from linli.core.listing import list_page, page_of
from linli.core.views import positive_int, resident_page, staff_page
from linli.notices.views import parse_local_datetime
from linli.orgs.roles import Perm
from linli.places.selectors import estate_get, estate_list
from linli.votes import selectors, services
from linli.votes.counting import ballot_digest
from linli.votes.models import Choice, Matter, Result, VoteStatus
from linli.votes.schemas import VoteFilters

PAGE_SIZE = 20


def _pct(f) -> str:
    return f"{float(f * 100):.2f}%"


@staff_page
def vote_list(request, actor):
    listing = list_page(
        request,
        lambda f: selectors.vote_list(actor=actor, **f.selector_args()),
        VoteFilters,
        page_size=PAGE_SIZE,
    )
    return render(
        request,
        "votes/list.html",
        {
            "page": listing.page,
            "estates": list(estate_list(actor=actor)),
            "estate_id": listing.filters.estate,
            "status": listing.filters.status,
            "statuses": VoteStatus.choices,
            "query": listing.query,
        },
    )


@staff_page
def vote_create(request, actor):
    actor.require(Perm.VOTES_MANAGE)
    errors: dict = {}
    values: dict = {"matter": Matter.ORDINARY, "secret": True}
    if request.method == "POST":
        p = request.POST
        values = {
            "title": p.get("title", "")[:200],
            "description": p.get("description", "")[:20001],
            "matter": p.get("matter", ""),
            "secret": p.get("secret") == "on",
            "closes_at": parse_local_datetime(p.get("closes_at")),
        }
        try:
            estate = estate_get(actor=actor, pk=positive_int(p.get("estate")) or 0)
            vote = services.vote_create(actor=actor, estate=estate, **values)
        except ValidationFailed as exc:
            errors = exc.fields or {"__all__": [exc.message]}
        else:
            messages.success(request, _("表决已创建（草稿）"))
            return redirect("votes:detail", pk=vote.pk)
    return render(
        request,
        "votes/form.html",
        {
            "estates": list(estate_list(actor=actor)),
            "matters": Matter.choices,
            "values": values,
            "errors": errors,
        },
    )


@staff_page
def vote_detail(request, actor, pk: int):
    vote = selectors.vote_get(actor=actor, pk=pk)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "open":
                services.vote_open(actor=actor, vote=vote)
                messages.success(request, _("表决已开始，表决权人名单已冻结"))
            elif action == "close":
                services.vote_close(actor=actor, vote=vote, reason=request.POST.get("reason", "")[:300])
                messages.success(request, _("表决已结束，结果已生成且不可更改"))
            else:
                raise ValidationFailed(_("未知操作"))
        except (ValidationFailed, Conflict) as exc:
            messages.error(request, "；".join(m for ms in exc.fields.values() for m in ms) or exc.message)
        return redirect("votes:detail", pk=vote.pk)
    progress = selectors.vote_progress(vote) if vote.status != VoteStatus.DRAFT else None
    result = Result.objects.filter(vote=vote).first() if vote.status == VoteStatus.CLOSED else None
    return render(
        request,
        "votes/detail.html",
        {
            "vote": vote,
            "progress": progress,
            "owner_rate": _pct(progress.owner_rate) if progress else "",
            "area_rate": _pct(progress.area_rate) if progress else "",
            "result": result,
            "choices": dict(Choice.choices),
        },
    )


# --- H5 ----------------------------------------------------------------------------------------


@resident_page
def h5_list(request, actor):
    page = page_of(request, selectors.my_votes(actor=actor), page_size=PAGE_SIZE)
    return render(request, "votes/h5_list.html", {"page": page, "h5_tab": "notices"})


@resident_page
def h5_vote(request, actor, pk: int):
    mv = selectors.my_vote_get(actor=actor, pk=pk)
    error = ""
    if request.method == "POST":
        try:
            ballot = services.ballot_cast(actor=actor, vote=mv.vote, choice=request.POST.get("choice", ""))
        except (ValidationFailed, Conflict) as exc:
            error = "；".join(m for ms in exc.fields.values() for m in ms) or exc.message
        else:
            messages.success(request, _("投票成功，请保存您的回执码：%(code)s") % {"code": ballot.receipt})
            return redirect("h5votes:vote", pk=pk)
    return render(
        request,
        "votes/h5_vote.html",
        {"mv": mv, "choices": Choice.choices, "error": error, "h5_tab": "notices"},
    )


@resident_page
def h5_verify(request, actor, pk: int):
    ver = selectors.vote_verify(actor=actor, pk=pk)
    recomputed = ballot_digest((r[0], r[1]) for r in ver.result.published)
    return render(
        request,
        "votes/h5_verify.html",
        {
            "ver": ver,
            "choices": dict(Choice.choices),
            "digest_ok": recomputed == ver.result.digest,
            "h5_tab": "notices",
        },
    )
