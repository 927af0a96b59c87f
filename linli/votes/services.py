"""Writes for owners' votes: create, open (freezing the electorate), cast a ballot, close (freezing the
result). Staff services need ``votes.manage`` and an estate in scope; casting needs a resident who is
an owner in the frozen electorate. Every write is audited in its own transaction; once a vote is
closed every service answers 409 and the database refuses updates (see ``models``).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.pii import mask_name
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.people.models import Occupancy, Relation
from linli.places.models import Region
from linli.places.selectors import require_estate
from linli.votes.counting import count, group_owners
from linli.votes.models import (
    Ballot,
    Choice,
    ElectorateEntry,
    ElectorateMember,
    Matter,
    Result,
    Vote,
    VoteStatus,
)

TITLE_MAX = 120
DESCRIPTION_MAX = 20000
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def _locked(vote: Vote) -> Vote:
    return Vote.objects.select_for_update().select_related("estate").get(pk=vote.pk)


@transaction.atomic
def vote_create(
    *,
    actor: Actor,
    estate: Region,
    title: str,
    closes_at: datetime,
    description: str = "",
    matter: str = Matter.ORDINARY,
    secret: bool = True,
    opens_at: datetime | None = None,
) -> Vote:
    """A draft vote. ``opens_at`` is informational (the vote opens when staff open it)."""
    require_estate(actor=actor, estate=estate, perm=Perm.VOTES_MANAGE, write=True)
    title = (title or "").replace("\x00", "").strip()
    description = (description or "").replace("\x00", "").strip()
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("请填写表决事项")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("标题不能超过 %(n)d 个字") % {"n": TITLE_MAX}]
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [_("说明不能超过 %(n)d 个字") % {"n": DESCRIPTION_MAX}]
    if matter not in Matter.values:
        errors["matter"] = [_("事项类别无效")]
    if closes_at is None or closes_at <= timezone.now():
        errors["closes_at"] = [_("截止时间必须晚于当前时间")]
    elif opens_at is not None and opens_at >= closes_at:
        errors["opens_at"] = [_("开始时间必须早于截止时间")]
    if errors:
        raise ValidationFailed(fields=errors)
    vote = Vote.objects.create(
        estate=estate,
        title=title,
        description=description,
        matter=matter,
        secret=bool(secret),
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=actor.user,
    )
    audit.record(Action.CREATE, actor=actor, obj=vote, detail={"matter": matter, "secret": bool(secret)})
    return vote


def _owner_rows(estate: Region) -> list[tuple[int, Decimal, int]]:
    return list(
        Occupancy.objects.filter(estate=estate, relation=Relation.OWNER, end_date__isnull=True)
        .order_by("room_id", "person_id")
        .values_list("room_id", "room__area", "person_id")
        .distinct()
    )


@transaction.atomic
def vote_open(*, actor: Actor, vote: Vote) -> Vote:
    """Open a draft vote and freeze its electorate (current owners of the estate's rooms, grouped as
    described in ``linli.votes.models``)."""
    require_estate(actor=actor, estate=vote.estate, perm=Perm.VOTES_MANAGE, write=True)
    vote = _locked(vote)
    if vote.status != VoteStatus.DRAFT:
        raise Conflict(_("只有草稿状态的表决可以开始"))
    if vote.closes_at <= timezone.now():
        raise ValidationFailed(fields={"closes_at": [_("截止时间已过，请先修改截止时间")]})
    groups = group_owners(_owner_rows(vote.estate))
    if not groups:
        raise ValidationFailed(fields={"estate": [_("本小区尚未登记任何业主，无法发起表决")]})
    from linli.places.models import Room

    addresses = dict(
        Room.objects.filter(pk__in={r for g in groups for r in g.room_ids}).values_list(
            "pk", "standard_address"
        )
    )
    entries = ElectorateEntry.objects.bulk_create(
        [
            ElectorateEntry(
                vote=vote, seq=i, area=g.area, rooms=[[r, addresses.get(r, "")] for r in g.room_ids]
            )
            for i, g in enumerate(groups, start=1)
        ]
    )
    ElectorateMember.objects.bulk_create(
        [
            ElectorateMember(vote=vote, entry=e, person_id=p)
            for e, g in zip(entries, groups, strict=True)
            for p in g.person_ids
        ]
    )
    vote.status = VoteStatus.OPEN
    vote.opened_at = timezone.now()
    vote.save(update_fields=["status", "opened_at", "updated_at"])
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=vote,
        detail={
            "status": "open",
            "entries": len(groups),
            "area": str(sum((g.area for g in groups), Decimal(0))),
        },
    )
    return vote


def _receipt() -> str:
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _insert_ballot(vote: Vote, entry: ElectorateEntry, choice: str, cast_by) -> Ballot:
    """Insert the entry's ballot (the caller holds the vote row lock and checked the vote is open)."""
    if choice not in Choice.values:
        raise ValidationFailed(fields={"choice": [_("请选择同意、反对或弃权")]})
    if vote.status != VoteStatus.OPEN or timezone.now() >= vote.closes_at:
        raise Conflict(_("表决已结束，不能再投票"))
    if Ballot.objects.filter(entry=entry).exists():
        raise Conflict(_("该房屋已投票，每户仅可投一次且不能修改"))
    return Ballot.objects.create(
        vote=vote,
        entry=entry,
        choice=choice,
        cast_at=timezone.now(),
        receipt=_receipt(),
        cast_by=None if vote.secret else cast_by,
    )


def ballot_cast(*, actor: Actor, vote: Vote, choice: str) -> Ballot:
    """Cast the one, final ballot of the resident's electorate entry. A second cast (by the same
    owner or a co-owner of the entry) answers 409."""
    person = getattr(actor.user, "person", None) if actor.is_resident else None
    if person is None:
        raise PermissionDenied(_("只有本小区业主可以投票"))
    if choice not in Choice.values:
        raise ValidationFailed(fields={"choice": [_("请选择同意、反对或弃权")]})
    try:
        with transaction.atomic():
            vote = _locked(vote)
            member = ElectorateMember.objects.filter(vote=vote, person=person).select_related("entry").first()
            if member is None:
                raise NotFound()
            ballot = _insert_ballot(vote, member.entry, choice, person)
            # The audit record never holds the choice of a secret ballot.
            audit.record(
                Action.CREATE,
                actor=actor,
                object_type="votes.ballot",
                object_id=vote.pk,
                estate_id=vote.estate_id,
                detail={} if vote.secret else {"choice": choice},
            )
            return ballot
    except IntegrityError as exc:  # a co-owner's concurrent ballot won the unique constraint
        raise Conflict(_("该房屋已投票，每户仅可投一次且不能修改")) from exc


def ballot_record_paper(*, actor: Actor, vote: Vote, entry_seq: int, choice: str) -> Ballot:
    """Staff enter a signed paper ballot (书面表决票) collected from the owners of entry ``entry_seq``.
    Same rules as ``ballot_cast``: one final ballot per entry, only while the vote is open."""
    require_estate(actor=actor, estate=vote.estate, perm=Perm.VOTES_MANAGE, write=True)
    try:
        with transaction.atomic():
            vote = _locked(vote)
            entry = ElectorateEntry.objects.filter(vote=vote, seq=entry_seq).first()
            if entry is None:
                raise NotFound()
            ballot = _insert_ballot(vote, entry, choice, entry.members.order_by("pk").first().person)
            audit.record(
                Action.CREATE,
                actor=actor,
                object_type="votes.ballot",
                object_id=vote.pk,
                estate_id=vote.estate_id,
                detail={"paper": True, "entry": entry_seq, **({} if vote.secret else {"choice": choice})},
            )
            return ballot
    except IntegrityError as exc:
        raise Conflict(_("该房屋已投票，每户仅可投一次且不能修改")) from exc


def _close(vote: Vote, *, actor: Actor | None, reason: str) -> Vote:
    t = count(vote)
    ballots = list(vote.ballots.select_related("cast_by").order_by("receipt"))
    published = [
        [b.receipt, b.choice, "" if vote.secret or b.cast_by is None else mask_name(b.cast_by.name)]
        for b in ballots
    ]
    now = timezone.now()

    def dec(f) -> Decimal:
        return (Decimal(f.numerator) / Decimal(f.denominator)).quantize(Decimal("0.01"))

    Result.objects.create(
        vote=vote,
        computed_at=now,
        total_area=dec(t.total_area),
        total_owners=t.total_owners,
        voted_area=dec(t.voted_area),
        voted_owners=t.voted_owners,
        agree_area=dec(t.agree_area),
        agree_owners=t.agree_owners,
        against_area=dec(t.against_area),
        against_owners=t.against_owners,
        abstain_area=dec(t.abstain_area),
        abstain_owners=t.abstain_owners,
        quorum_met=t.quorum_met,
        passed=t.passed,
        published=published,
        digest=t.digest,
    )
    vote.status = VoteStatus.CLOSED
    vote.closed_at = now
    vote.save(update_fields=["status", "closed_at", "updated_at"])
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=vote,
        reason=reason,
        actor_label="" if actor is not None else "system:votes.close_due",
        detail={"status": "closed", "passed": t.passed, "quorum_met": t.quorum_met, "digest": t.digest},
    )
    return vote


@transaction.atomic
def vote_close(*, actor: Actor, vote: Vote, reason: str = "") -> Vote:
    """Close an open vote now and freeze its result. A closed vote answers 409."""
    require_estate(actor=actor, estate=vote.estate, perm=Perm.VOTES_MANAGE, write=True)
    vote = _locked(vote)
    if vote.status != VoteStatus.OPEN:
        raise Conflict(
            _("只有进行中的表决可以结束")
            if vote.status == VoteStatus.DRAFT
            else _("表决已结束，结果不可更改")
        )
    return _close(vote, actor=actor, reason=reason)


def votes_close_due(*, now: datetime | None = None) -> int:
    """Close every open vote whose ``closes_at`` has passed (idempotent). Returns how many closed."""
    now = now or timezone.now()
    closed = 0
    for pk in Vote.objects.filter(status=VoteStatus.OPEN, closes_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            vote = Vote.objects.select_for_update().select_related("estate").filter(pk=pk).first()
            if vote is None or vote.status != VoteStatus.OPEN or vote.closes_at > now:
                continue
            _close(vote, actor=None, reason=_("到达截止时间自动结束"))
            closed += 1
    return closed
