"""Demo votes for one estate: a closed vote with its frozen result and an open vote in progress.
Paper ballots are entered by the estate's staff (the demo owners have no accounts to vote with)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user, staff_over
from linli.places.models import Region
from linli.votes import services
from linli.votes.models import Choice, Matter, Vote, VoteStatus

CLOSED_TITLE = "关于续聘物业服务企业的表决"
OPEN_TITLE = "关于使用专项维修资金更换 1 号楼电梯的表决"


def _manager(estate: Region):
    for role in (Role.PROPERTY_ADMIN, Role.COMMUNITY_WORKER):
        user = staff_over(estate, roles=[role]).order_by("username").first()
        if user is not None:
            return actor_for_user(user)
    return None


def _ballots(actor, vote: Vote, rng: random.Random, *, share: float, weights: tuple[int, int, int]) -> None:
    seqs = list(vote.entries.values_list("seq", flat=True))
    for seq in rng.sample(seqs, k=int(len(seqs) * share)):
        choice = rng.choices([Choice.AGREE, Choice.AGAINST, Choice.ABSTAIN], weights=weights)[0]
        services.ballot_record_paper(actor=actor, vote=vote, entry_seq=seq, choice=choice)


def seed(estate: Region) -> int:
    """Create the two demo votes (idempotent: skipped when they exist). Returns how many were made."""
    actor = _manager(estate)
    if actor is None or Vote.objects.filter(estate=estate, title__in=[CLOSED_TITLE, OPEN_TITLE]).exists():
        return 0
    rng = random.Random(estate.pk * 7919)  # noqa: S311 (demo data, not security)
    made = 0
    closed = services.vote_create(
        actor=actor,
        estate=estate,
        title=CLOSED_TITLE,
        description="物业服务合同将于年底到期。请业主对是否续聘现物业服务企业进行表决（一般事项）。",
        matter=Matter.ORDINARY,
        secret=True,
        closes_at=timezone.now() + timedelta(days=1),
    )
    try:
        closed = services.vote_open(actor=actor, vote=closed)
    except Exception:  # no registered owners in this estate: leave the draft for staff to see
        return 1
    _ballots(actor, closed, rng, share=0.8, weights=(7, 2, 1))
    services.vote_close(actor=actor, vote=closed, reason="演示数据：表决期满")
    made += 1
    current = services.vote_create(
        actor=actor,
        estate=estate,
        title=OPEN_TITLE,
        description="1 号楼电梯已运行 15 年，拟使用专项维修资金更换（重大事项，需四分之三以上同意）。",
        matter=Matter.MAJOR,
        secret=False,
        closes_at=timezone.now() + timedelta(days=14),
    )
    current = services.vote_open(actor=actor, vote=current)
    _ballots(actor, current, rng, share=0.35, weights=(8, 1, 1))
    made += 1
    assert current.status == VoteStatus.OPEN
    return made
