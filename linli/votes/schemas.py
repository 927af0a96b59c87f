"""API shapes for votes. Results never pair a voter's identity with a choice for secret ballots."""

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from ninja import Field, Schema

from linli.core.api import ListFilters
from linli.notices.schemas import DateTime
from linli.people.schemas import Id, Text
from linli.votes.models import Choice, Matter, VoteStatus

MatterCode = Literal[tuple(Matter.values)]  # type: ignore[valid-type]
ChoiceCode = Literal[tuple(Choice.values)]  # type: ignore[valid-type]
StatusCode = Literal[tuple(VoteStatus.values)]  # type: ignore[valid-type]


class VoteIn(Schema):
    estate_id: Id
    title: Text(120, 1)
    description: Text(20000) = ""
    matter: MatterCode = "ordinary"
    secret: bool = True
    opens_at: DateTime | None = None
    closes_at: DateTime


class VoteCloseIn(Schema):
    reason: Text(300) = ""


class VoteOut(Schema):
    id: int
    estate_id: int
    title: str
    description: str
    matter: str
    secret: bool
    status: str
    opens_at: datetime | None
    closes_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None


class VoteListOut(VoteOut):
    entry_count: int | None = Field(None, description="表决权人数（开始后）")
    ballot_count: int | None = Field(None, description="已投票数")


class ProgressOut(Schema):
    total_owners: int
    total_area: Decimal
    voted_owners: int
    voted_area: Decimal
    owner_rate: str
    area_rate: str


class VoteDetailOut(Schema):
    vote: VoteOut
    progress: ProgressOut


class PublishedBallot(Schema):
    receipt: str
    choice: str
    name: str = Field("", description="记名投票时为脱敏姓名；不记名投票为空")


class ResultOut(Schema):
    vote_id: int
    matter: str
    secret: bool
    computed_at: datetime
    total_area: Decimal
    total_owners: int
    voted_area: Decimal
    voted_owners: int
    agree_area: Decimal
    agree_owners: int
    against_area: Decimal
    against_owners: int
    abstain_area: Decimal
    abstain_owners: int
    quorum_met: bool
    passed: bool
    digest: str = Field(..., description="SHA-256（各行“回执码,选择\\n”按回执码排序后拼接）")


class VerifyOut(Schema):
    result: ResultOut
    ballots: list[PublishedBallot]
    my_receipt: str | None
    my_receipt_found: bool | None


class MyVoteOut(Schema):
    id: int
    title: str
    description: str
    matter: str
    secret: bool
    status: str
    closes_at: datetime
    voted: bool = Field(..., description="本户已投票（本人或共有人）")


class MyVoteDetailOut(MyVoteOut):
    area: Decimal
    rooms: list[str]
    my_receipt: str | None = Field(None, description="本户的投票回执码")


class CastIn(Schema):
    choice: ChoiceCode


class ReceiptOut(Schema):
    vote_id: int
    receipt: str
    cast_at: datetime


class VoteFilters(ListFilters):
    renamed: ClassVar[dict[str, str]] = {"estate": "estate_id"}
    estate: Id | None = None
    status: StatusCode | None = None
