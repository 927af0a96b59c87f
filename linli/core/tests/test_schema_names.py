"""The published OpenAPI file tells the truth (R76).

django-ninja names a schema component by its class name alone, so two schema classes with the same
name overwrite each other in ``components.schemas`` and one endpoint documents the other's body
(``POST /workorders/{pk}/comment`` once showed the alarms' ``{"body"}`` while it wants ``{"text"}``).
"""

from __future__ import annotations

import json
import re
import typing
from collections import defaultdict
from datetime import time

from ninja import Schema
from pydantic import BaseModel

from linli.api import api
from linli.core.api import LOCAL_TIME_PATTERN, LocalTime
from linli.core.management.commands.export_openapi import render_schema
from linli.orgs.roles import Role


def _models(annotation, found: set[type[BaseModel]]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in found:
            found.add(annotation)
            for field in annotation.model_fields.values():
                _models(field.annotation, found)
        return
    for arg in typing.get_args(annotation):
        _models(arg, found)


def _api_schema_classes() -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    for bound in api._get_bound_routers():
        for path_view in bound.path_operations.values():
            for operation in path_view.operations:
                for model in operation.models:
                    _models(model, found)
                for response in operation.response_models.values():
                    _models(response, found)
    return found


def test_schema_classes_used_by_the_api_have_unique_names():
    # given every schema class reachable from the mounted API (bodies, params, responses, nested)
    by_name: dict[str, set[str]] = defaultdict(set)
    for cls in _api_schema_classes():
        by_name[cls.__name__].add(f"{cls.__module__}.{cls.__qualname__}")

    # then no two of them share a name (prefix with the app or entity: WorkOrderCommentIn)
    assert {name: sorted(paths) for name, paths in by_name.items() if len(paths) > 1} == {}


def test_comment_endpoint_documents_the_body_the_server_reads():
    # given the generated schema
    schema = json.loads(render_schema())

    # when the work order comment operation's body is looked up
    ref = schema["paths"]["/api/v1/workorders/{pk}/comment"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    component = schema["components"]["schemas"][ref["schema"]["$ref"].rsplit("/", 1)[1]]

    # then it documents {"text"}, what the work order service reads
    assert list(component["properties"]) == ["text"]
    assert component["required"] == ["text"]


def test_every_path_sits_under_api_v1_with_a_slash():
    # given the generated schema (access is mounted through nested routers)
    paths = list(json.loads(render_schema())["paths"])

    # then every path starts with "/api/v1/", none with "/api/v1access"
    assert [p for p in paths if not p.startswith("/api/v1/")] == []
    assert "/api/v1/access/points" in paths


def test_times_are_documented_as_the_local_time_string_that_is_sent():
    # given the generated schema
    text = render_schema()
    schema = json.loads(text)
    quiet = schema["components"]["schemas"]["MessagePrefsOut"]["properties"]["quiet_start"]

    # then no field claims RFC 3339 "format: time" (it needs an offset); the local time has its pattern
    assert '"format": "time"' not in text
    documented = next(s for s in quiet["anyOf"] if s.get("type") == "string")
    assert documented["pattern"] == LOCAL_TIME_PATTERN
    assert "format" not in documented


def test_local_time_sent_matches_its_documented_pattern():
    # given a schema with a LocalTime field
    class _Shift(Schema):
        start: LocalTime

    # when it is rendered as ninja renders a response
    rendered = json.loads(
        api.renderer.render(None, _Shift(start=time(8, 30)).model_dump(), response_status=200)
    )

    # then the string sent matches the pattern documented
    assert rendered == {"start": "08:30:00"}
    assert re.fullmatch(LOCAL_TIME_PATTERN, rendered["start"])


def test_a_local_time_with_an_offset_matches_the_pattern_and_comes_back_local(world, login):
    # given a signed-in staff member changing their quiet hours
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    sent = "22:00:00+08:00"

    # when the time carries an offset, which the documented pattern allows on the way in
    response = client.put(
        "/api/v1/messages/prefs",
        data={"categories": [], "quiet_start": sent, "quiet_end": "07:00"},
        content_type="application/json",
    )

    # then it is taken, converted to the platform's local time, and sent back as documented (no offset)
    assert re.fullmatch(LOCAL_TIME_PATTERN, sent)
    assert response.status_code == 200, response.content
    assert response.json()["quiet_start"] == "22:00:00"
    assert re.fullmatch(LOCAL_TIME_PATTERN, response.json()["quiet_start"])
