"""Reads for votes: staff lists, details with live participation and results (scoped); residents'
own votes and receipts; and the public verification list any owner of the estate may fetch."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum

from linli.core.errors import NotFound
from linli.core.scoping import Actor, get_in_scope
from linli.orgs.roles import Perm
from linli.people.models import Occupancy, Relation
from linli.votes.models import Ballot, ElectorateEntry, ElectorateMember, Result, Vote, VoteStatus

# --- staff -------------------------------------------------------------------------------------


def vote_list(*, actor: Actor, estate_id: int | None = None, status: str | None = None) -> QuerySet[Vote]:
    actor.require(Perm.VOTES_MANAGE)
    qs = actor.scoped(Vote.objects.select_related("estate"), "estate__path")
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    if status:
        qs = qs.filter(status=status)
    entries = (
        ElectorateEntry.objects.filter(vote=OuterRef("pk")).values("vote").annotate(n=Count("pk")).values("n")
    )
    ballots = Ballot.objects.filter(vote=OuterRef("pk")).values("vote").annotate(n=Count("pk")).values("n")
    return qs.annotate(entry_count=Subquery(entries), ballot_count=Subquery(ballots)).order_by(
        "-created_at", "-pk"
    )


def vote_get(*, actor: Actor, pk: int) -> Vote:
    """A vote in scope (404 outside it), then the permission (403)."""
    return get_in_scope(
        Vote.objects.select_related("estate"),
        actor=actor,
        path_field="estate__path",
        pk=pk,
        perm=Perm.VOTES_MANAGE,
    )


@dataclass
class Progress:
    total_owners: int
    total_area: Decimal
    voted_owners: int
    voted_area: Decimal

    @property
    def owner_rate(self) -> Fraction:
        return Fraction(self.voted_owners, self.total_owners) if self.total_owners else Fraction(0)

    @property
    def area_rate(self) -> Fraction:
        return Fraction(self.voted_area) / Fraction(self.total_area) if self.total_area else Fraction(0)


def vote_progress(vote: Vote) -> Progress:
    """Live participation of an open vote (how many voted — never how they voted)."""
    total = ElectorateEntry.objects.filter(vote=vote).aggregate(n=Count("pk"), a=Sum("area"))
    voted = ElectorateEntry.objects.filter(vote=vote, ballot__isnull=False).aggregate(
        n=Count("pk"), a=Sum("area")
    )
    return Progress(
        total_owners=total["n"] or 0,
        total_area=total["a"] or Decimal(0),
        voted_owners=voted["n"] or 0,
        voted_area=voted["a"] or Decimal(0),
    )


def vote_result(*, actor: Actor, pk: int) -> Result:
    vote = vote_get(actor=actor, pk=pk)
    result = Result.objects.filter(vote=vote).select_related("vote").first()
    if result is None:
        raise NotFound(_no_result())
    return result


def _no_result() -> str:
    from django.utils.translation import gettext as _

    return _("表决尚未结束，暂无结果")


# --- residents ---------------------------------------------------------------------------------


def _person(actor: Actor):
    return getattr(actor.user, "person", None) if actor.is_resident else None


def my_votes(*, actor: Actor) -> QuerySet[Vote]:
    """Votes (open or closed) whose frozen electorate includes the resident, open ones first; each row
    has ``my_receipt`` (this entry's ballot receipt if the resident cast it, else None) and ``voted``
    (the entry has a ballot, cast by the resident or a co-owner)."""
    person = _person(actor)
    if person is None:
        return Vote.objects.none()
    members = ElectorateMember.objects.filter(vote=OuterRef("pk"), person=person)
    entry_ballot = Ballot.objects.filter(vote=OuterRef("pk"), entry__members__person=person)
    return (
        Vote.objects.filter(Exists(members), status__in=[VoteStatus.OPEN, VoteStatus.CLOSED])
        .select_related("estate")
        .annotate(voted=Exists(entry_ballot))
        .order_by("-status", "closes_at", "-pk")
    )


@dataclass
class MyVote:
    vote: Vote
    entry: ElectorateEntry
    ballot: Ballot | None  # the entry's ballot (cast by the resident or a co-owner)


def my_vote_get(*, actor: Actor, pk: int) -> MyVote:
    person = _person(actor)
    if person is None:
        raise NotFound()
    member = (
        ElectorateMember.objects.filter(
            vote_id=pk, person=person, vote__status__in=[VoteStatus.OPEN, VoteStatus.CLOSED]
        )
        .select_related("vote__estate", "entry")
        .first()
    )
    if member is None:
        raise NotFound()
    ballot = Ballot.objects.filter(entry=member.entry).first()
    return MyVote(vote=member.vote, entry=member.entry, ballot=ballot)


def _is_estate_owner(actor: Actor, vote: Vote) -> bool:
    person = _person(actor)
    if person is None:
        return False
    if ElectorateMember.objects.filter(vote=vote, person=person).exists():
        return True
    return Occupancy.objects.filter(
        person=person, estate_id=vote.estate_id, relation=Relation.OWNER, end_date__isnull=True
    ).exists()


@dataclass
class Verification:
    vote: Vote
    result: Result
    my_receipt: str | None
    found: bool | None  # my receipt is in the published list (None when I cast no ballot)


def vote_verify(*, actor: Actor, pk: int) -> Verification:
    """The published ballot list and digest of a closed vote, for any owner of its estate (or staff
    in scope with ``votes.manage``). Others — including owners of other estates — get 404."""
    vote = Vote.objects.select_related("estate").filter(pk=pk, status=VoteStatus.CLOSED).first()
    if vote is None:
        raise NotFound()
    if actor.is_resident:
        if not _is_estate_owner(actor, vote):
            raise NotFound()
    elif not (actor.in_scope_path(vote.estate.path) and actor.has(Perm.VOTES_MANAGE)):
        raise NotFound()
    result = Result.objects.get(vote=vote)
    my_receipt = None
    person = _person(actor)
    if person is not None:
        my_receipt = (
            Ballot.objects.filter(vote=vote, entry__members__person=person)
            .values_list("receipt", flat=True)
            .first()
        )
    found = None if my_receipt is None else any(row[0] == my_receipt for row in result.published)
    return Verification(vote=vote, result=result, my_receipt=my_receipt, found=found)


def open_vote_count(*, actor: Actor) -> int:
    """Open votes the resident can still vote in (for the notices tab link)."""
    person = _person(actor)
    if person is None:
        return 0
    return my_votes(actor=actor).filter(status=VoteStatus.OPEN).exclude(Q(voted=True)).count()
