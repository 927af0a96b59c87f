"""Votes API: staff create/open/close/list/detail/result; residents' own votes, casting a ballot and
their receipt (/votes/me); the published verification list for owners (/votes/{id}/verify)."""

from ninja import Query, Router, Status
from ninja.pagination import paginate

from linli.core.api import ERRORS, WRITE_ERRORS, Page, PkPath, actor_of
from linli.places.selectors import estate_get
from linli.votes import selectors, services
from linli.votes.schemas import (
    CastIn,
    MyVoteDetailOut,
    MyVoteOut,
    ReceiptOut,
    ResultOut,
    VerifyOut,
    VoteCloseIn,
    VoteDetailOut,
    VoteFilters,
    VoteIn,
    VoteListOut,
    VoteOut,
)

router = Router()


def _pct(f) -> str:
    return f"{float(f * 100):.2f}%"


def result_out(result) -> dict:
    vote = result.vote
    return {
        "vote_id": vote.pk,
        "matter": vote.matter,
        "secret": vote.secret,
        **{
            k: getattr(result, k)
            for k in (
                "computed_at",
                "total_area",
                "total_owners",
                "voted_area",
                "voted_owners",
                "agree_area",
                "agree_owners",
                "against_area",
                "against_owners",
                "abstain_area",
                "abstain_owners",
                "quorum_met",
                "passed",
                "digest",
            )
        },
    }


def progress_out(p) -> dict:
    return {
        "total_owners": p.total_owners,
        "total_area": p.total_area,
        "voted_owners": p.voted_owners,
        "voted_area": p.voted_area,
        "owner_rate": _pct(p.owner_rate),
        "area_rate": _pct(p.area_rate),
    }


# --- residents ---------------------------------------------------------------------------------


@router.get("/me", response={200: list[MyVoteOut], **ERRORS}, summary="我可参与的表决（进行中在前）")
@paginate(Page)
def my_votes(request):
    return selectors.my_votes(actor=actor_of(request))


def _my_detail(mv) -> dict:
    v = mv.vote
    return {
        "id": v.pk,
        "title": v.title,
        "description": v.description,
        "matter": v.matter,
        "secret": v.secret,
        "status": v.status,
        "closes_at": v.closes_at,
        "voted": mv.ballot is not None,
        "area": mv.entry.area,
        "rooms": [r[1] for r in mv.entry.rooms],
        "my_receipt": mv.ballot.receipt if mv.ballot else None,
    }


@router.get("/me/{pk}", response={200: MyVoteDetailOut, **ERRORS}, summary="表决详情与本户回执码")
def my_vote(request, pk: PkPath):
    return _my_detail(selectors.my_vote_get(actor=actor_of(request), pk=pk))


@router.post(
    "/me/{pk}/ballot", response={201: ReceiptOut, **WRITE_ERRORS}, summary="投票（每户一票，投出后不可更改）"
)
def cast(request, pk: PkPath, body: CastIn):
    actor = actor_of(request)
    mv = selectors.my_vote_get(actor=actor, pk=pk)
    ballot = services.ballot_cast(actor=actor, vote=mv.vote, choice=body.choice)
    return Status(201, {"vote_id": mv.vote.pk, "receipt": ballot.receipt, "cast_at": ballot.cast_at})


# --- staff -------------------------------------------------------------------------------------


@router.get("", response={200: list[VoteListOut], **ERRORS}, summary="表决列表")
@paginate(Page)
def vote_list(request, filters: Query[VoteFilters]):
    return selectors.vote_list(actor=actor_of(request), **filters.selector_args())


@router.post("", response={201: VoteOut, **WRITE_ERRORS}, summary="创建表决（草稿）")
def vote_create(request, body: VoteIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    vote = services.vote_create(actor=actor, estate=estate, **body.dict(exclude={"estate_id"}))
    return Status(201, vote)


@router.get("/{pk}", response={200: VoteDetailOut, **ERRORS}, summary="表决详情与实时参与情况")
def vote_get(request, pk: PkPath):
    vote = selectors.vote_get(actor=actor_of(request), pk=pk)
    return {"vote": vote, "progress": progress_out(selectors.vote_progress(vote))}


@router.post("/{pk}/open", response={200: VoteOut, **WRITE_ERRORS}, summary="开始表决（冻结表决权人名单）")
def vote_open(request, pk: PkPath):
    actor = actor_of(request)
    return services.vote_open(actor=actor, vote=selectors.vote_get(actor=actor, pk=pk))


@router.post(
    "/{pk}/close", response={200: ResultOut, **WRITE_ERRORS}, summary="结束表决并计票（结果不可更改）"
)
def vote_close(request, pk: PkPath, body: VoteCloseIn):
    actor = actor_of(request)
    services.vote_close(actor=actor, vote=selectors.vote_get(actor=actor, pk=pk), reason=body.reason)
    return result_out(selectors.vote_result(actor=actor, pk=pk))


@router.get("/{pk}/result", response={200: ResultOut, **ERRORS}, summary="表决结果")
def vote_result(request, pk: PkPath):
    return result_out(selectors.vote_result(actor=actor_of(request), pk=pk))


@router.get(
    "/{pk}/verify", response={200: VerifyOut, **ERRORS}, summary="结果核验：公示清单与摘要（本小区业主）"
)
def vote_verify(request, pk: PkPath):
    ver = selectors.vote_verify(actor=actor_of(request), pk=pk)
    return {
        "result": result_out(ver.result),
        "ballots": [{"receipt": r[0], "choice": r[1], "name": r[2]} for r in ver.result.published],
        "my_receipt": ver.my_receipt,
        "my_receipt_found": ver.found,
    }
