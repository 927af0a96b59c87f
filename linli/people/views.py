"""Console pages for people: the resident register (masked), person detail with an audited reveal
form, and resident imports with their per-row error report."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from linli.core.errors import Conflict, ValidationFailed
from linli.core.listing import known_ordering, list_page, page_of, querystring
from linli.core.models import ImportJob
from linli.core.pii import mask_id, mask_name, mask_phone
from linli.core.tabular import template_download
from linli.core.views import positive_int, staff_page
from linli.orgs.roles import Perm
from linli.people import selectors, services
from linli.people.models import CareKind, PopulationType, Relation
from linli.people.schemas import PersonFilters
from linli.places import selectors as places_selectors
from linli.places.selectors import estate_get

PAGE_SIZE = 20


def _person_row(p) -> dict:
    return {
        "id": p.pk,
        "name": mask_name(p.name),
        "gender": p.get_gender_display(),
        "id_number": mask_id(p.id_number),
        "phone": mask_phone(p.phone),
        "population_type": p.get_population_type_display(),
        "estate": p.estate.name,
        "rooms": [(o.room.standard_address, o.get_relation_display()) for o in p.current_occupancies],
    }


@staff_page
def persons(request, actor):
    actor.require(Perm.PEOPLE_VIEW)
    special = actor.has(Perm.PEOPLE_SPECIAL_VIEW)

    def person_rows(f: PersonFilters):  # care tags only for special-group viewers; unknown sort → name
        args = f.selector_args(exclude={"ordering", "care_kind"})
        ordering = known_ordering(f.ordering, selectors.PERSON_ORDERING, "name")
        care_kind = f.care_kind if special else None
        return selectors.person_list(actor=actor, **args, care_kind=care_kind, ordering=ordering)

    listing = list_page(request, person_rows, PersonFilters, page_size=PAGE_SIZE)
    f = listing.filters
    estates = list(places_selectors.estate_list(actor=actor))
    buildings = list(places_selectors.building_list(actor=actor, estate=f.estate)) if f.estate else []
    return render(
        request,
        "people/persons.html",
        {
            "page": listing.page,
            "rows": [_person_row(p) for p in listing.page.object_list],
            "filters": f,
            "ordering": known_ordering(f.ordering, selectors.PERSON_ORDERING, "name"),
            "estates": estates,
            "buildings": buildings,
            "relations": Relation.choices,
            "population_types": PopulationType.choices,
            "care_kinds": CareKind.choices if special else [],
            "query": listing.query,
            "sort_query": querystring(request.GET, drop=("page", "ordering")),
            "can_import": actor.has(Perm.PEOPLE_IMPORT),
        },
    )


def _households_of(actor, person) -> list[dict]:
    households = (
        selectors.household_list(actor=actor)
        .filter(occupancies__person=person, occupancies__end_date__isnull=True)
        .distinct()
    )
    return [
        {
            "room": h.room.standard_address,
            "members": [
                {
                    "id": m.person_id,
                    "self": m.person_id == person.pk,
                    "name": person.name if m.person_id == person.pk else mask_name(m.person.name),
                    "relation": m.get_relation_display(),
                }
                for m in h.current_members
            ],
        }
        for h in households
    ]


@staff_page
@require_http_methods(["GET", "POST"])
def person_detail(request, actor, pk: int):
    person = selectors.person_get(actor=actor, pk=pk)
    revealed = None
    reveal_errors: dict = {}
    if request.method == "POST":
        try:
            value = services.person_reveal(
                actor=actor,
                person=person,
                field=request.POST.get("field", ""),
                reason=request.POST.get("reason", "").replace("\x00", "")[:300],
            )
        except ValidationFailed as exc:
            reveal_errors = exc.fields
        else:
            revealed = {"field": request.POST["field"], "value": value}
    special = actor.has(Perm.PEOPLE_SPECIAL_VIEW)
    context = {
        "person": person,
        "masked": {"id_number": mask_id(person.id_number), "phone": mask_phone(person.phone)},
        "occupancies": list(selectors.occupancy_list(actor=actor, person_id=person.pk)),
        "households": _households_of(actor, person),
        "vehicles": list(selectors.vehicle_list(actor=actor, owner_id=person.pk)),
        "care_tags": selectors.care_tag_list(actor=actor, person_id=person.pk) if special else None,
        "can_reveal": actor.has(Perm.PEOPLE_REVEAL),
        "revealed": revealed,
        "reveal_errors": reveal_errors,
    }
    response = render(request, "people/person_detail.html", context, status=400 if reveal_errors else 200)
    if revealed:
        response["Cache-Control"] = "no-store"
    return response


@staff_page
@require_http_methods(["GET", "POST"])
def imports_page(request, actor):
    if request.method == "POST":
        upload = request.FILES.get("file")
        estate_id = positive_int(request.POST.get("estate"))
        if upload is None or estate_id is None:
            actor.require(Perm.PEOPLE_IMPORT)
            messages.error(request, _("请选择小区和要上传的文件"))
        else:
            estate = estate_get(actor=actor, pk=estate_id)  # out of scope: 404 before anything else
            try:
                job = services.residents_import(
                    actor=actor,
                    estate=estate,
                    file_name=upload.name or "",
                    data=upload.read(settings.IMPORT_MAX_BYTES + 1),
                )
            except (ValidationFailed, Conflict) as exc:
                messages.error(request, exc.message)
            else:
                if job.status == ImportJob.Status.APPLIED:
                    messages.success(request, _("导入成功：新增 %(n)d 位住户") % {"n": job.created_count})
                else:
                    messages.error(request, _("文件有 %(n)d 处错误，未导入任何数据") % {"n": len(job.errors)})
                return redirect("people:import_detail", pk=job.pk)
    actor.require(Perm.PEOPLE_IMPORT)
    estates = list(places_selectors.estate_list(actor=actor))
    page = page_of(request, selectors.import_list(actor=actor), page_size=PAGE_SIZE)
    return render(request, "people/imports.html", {"page": page, "estates": estates})


@staff_page
def import_detail(request, actor, pk: int):
    job = selectors.import_get(actor=actor, pk=pk)
    return render(request, "people/import_detail.html", {"job": job})


@staff_page
def import_template(request, actor):
    return template_download(selectors.import_template(actor=actor), "residents-template.xlsx")
