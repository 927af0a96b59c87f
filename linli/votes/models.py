"""Owners' joint decisions (业主共同决定, Civil Code art. 278): votes, the electorate frozen at opening,
ballots and the result frozen at closing.

Who votes, and with what weight (the electorate rule)
----------------------------------------------------
When a vote opens, the owners of the estate's rooms are taken from the people register: every
current (no end date) ``Occupancy`` with relation ``owner``. Following the Supreme People's Court
interpretation on building ownership (法释〔2009〕7号, arts. 8–9: a 专有部分 counts as one owner, and a
buyer of several 专有部分 counts as one; the area is the 专有部分 area), owners and rooms are grouped
into **electorate entries**:

* rooms that share an owner belong to the same entry (union of "has a common owner", so an owner
  with two rooms is one entry, and co-owners of a room are one entry together with every other room
  any of them owns);
* each entry counts **once** in the headcount and with the **sum of the areas** (``Room.area``) of
  its rooms, each room counted once however many co-owners it has;
* each entry has exactly **one ballot**, cast by any one of its owners; it is final (a second cast
  for the same entry is refused with 409).

Rooms without a registered owner are not in the electorate (there is nobody to vote), so the totals
are those of the registered owners — the console shows the owner-less rooms when the vote opens.

Ballot secrecy
--------------
Ballots always reference their entry (so one ballot per entry can be enforced by a unique
constraint). A secret ballot's published result lists only receipt codes with choices; an open
ballot's lists masked owner names, receipt codes and choices. Nobody's choice is shown next to
their identity anywhere for a secret vote.

Immutability
------------
Entries, ballots and results are insert-only: database triggers (migration 0002) refuse any UPDATE
of them, and any UPDATE of a vote whose status is already ``closed``. The result carries a SHA-256
digest over the sorted (receipt code, choice) pairs so any owner can check the published list.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType
from linli.core.models import TimeStampedModel
from linli.places.models import Region


class Matter(models.TextChoices):
    ORDINARY = "ordinary", _("一般事项（过半数通过）")
    MAJOR = "major", _("重大事项（四分之三以上通过）")


class Choice(models.TextChoices):
    AGREE = "agree", _("同意")
    AGAINST = "against", _("反对")
    ABSTAIN = "abstain", _("弃权")


class VoteStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("投票中")
    CLOSED = "closed", _("已结束")


class Vote(TimeStampedModel):
    """One matter put to the owners of an estate."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="votes")
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    matter = models.CharField(max_length=16, choices=Matter.choices, default=Matter.ORDINARY)
    secret = models.BooleanField(default=True, help_text=_("不记名投票：结果只公布回执码与选择"))
    status = models.CharField(max_length=16, choices=VoteStatus.choices, default=VoteStatus.DRAFT)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    catalog = Catalog(
        purpose=_("业主共同决定事项的表决"),
        basis=Basis.NOT_PI,
        level=Level.L2,
        retention=_("长期（业主共同决定的依据）"),
        recipients=_("本小区业主、物业、居委会"),
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["estate", "status"]), models.Index(fields=["status", "closes_at"])]

    def __str__(self) -> str:
        return self.title


class ElectorateEntry(models.Model):
    """One voter of a vote as frozen at opening: a group of rooms with their owners (see module doc)."""

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="entries")
    seq = models.PositiveIntegerField()
    area = models.DecimalField(max_digits=12, decimal_places=2)
    rooms = models.JSONField(default=list, help_text=_("房屋编号与地址 [[id, 地址], …]"))
    persons = models.ManyToManyField("people.Person", through="ElectorateMember", related_name="+")

    catalog = Catalog(
        purpose=_("表决权登记（投票开始时冻结）"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("随表决长期保存"),
        recipients=_("物业、居委会"),
        pi=PIType.GENERAL,
    )

    class Meta:
        ordering = ["vote", "seq"]
        constraints = [models.UniqueConstraint(fields=["vote", "seq"], name="votes_entry_unique_seq")]

    def __str__(self) -> str:
        return f"{self.vote_id}#{self.seq}"


class ElectorateMember(models.Model):
    """An owner belonging to an electorate entry (a person is in at most one entry of a vote)."""

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey(ElectorateEntry, on_delete=models.PROTECT, related_name="members")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="vote_memberships")

    catalog = Catalog(
        purpose=_("表决权登记（投票开始时冻结）"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("随表决长期保存"),
        recipients=_("物业、居委会"),
        pi=PIType.GENERAL,
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vote", "person"], name="votes_member_unique_person")]

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.person_id}"


class Ballot(models.Model):
    """The one final ballot of an electorate entry."""

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="ballots")
    entry = models.OneToOneField(ElectorateEntry, on_delete=models.PROTECT, related_name="ballot")
    choice = models.CharField(max_length=16, choices=Choice.choices)
    cast_at = models.DateTimeField()
    receipt = models.CharField(max_length=32, unique=True)
    cast_by = models.ForeignKey(
        "people.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("实际投票的业主（仅记名投票记录）"),
    )

    catalog = Catalog(
        purpose=_("业主表决票"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("随表决长期保存"),
        recipients=_("投票人本人；结果公示仅含回执码（不记名）或脱敏姓名（记名）"),
        pi=PIType.GENERAL,
    )

    class Meta:
        ordering = ["vote", "receipt"]

    def __str__(self) -> str:
        return self.receipt


class Result(models.Model):
    """The count, frozen when the vote closes. Fractions are stored as numerator/denominator text."""

    vote = models.OneToOneField(Vote, on_delete=models.PROTECT, related_name="result")
    computed_at = models.DateTimeField()
    total_area = models.DecimalField(max_digits=14, decimal_places=2)
    total_owners = models.PositiveIntegerField()
    voted_area = models.DecimalField(max_digits=14, decimal_places=2)
    voted_owners = models.PositiveIntegerField()
    agree_area = models.DecimalField(max_digits=14, decimal_places=2)
    agree_owners = models.PositiveIntegerField()
    against_area = models.DecimalField(max_digits=14, decimal_places=2)
    against_owners = models.PositiveIntegerField()
    abstain_area = models.DecimalField(max_digits=14, decimal_places=2)
    abstain_owners = models.PositiveIntegerField()
    quorum_met = models.BooleanField()
    passed = models.BooleanField()
    published = models.JSONField(default=list, help_text=_("公示清单：[[回执码, 选择, 脱敏姓名或空], …]"))
    digest = models.CharField(max_length=64)

    catalog = Catalog(
        purpose=_("表决结果公示与核验"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("长期"),
        recipients=_("本小区业主"),
        pi=PIType.GENERAL,
        note=_("记名投票的公示清单含脱敏姓名"),
    )

    def __str__(self) -> str:
        return f"{self.vote_id}: {'passed' if self.passed else 'failed'}"
