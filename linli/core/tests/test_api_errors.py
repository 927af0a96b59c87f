"""Input Django itself refuses answers in the API's error envelope, never a 500 (issue #12)."""

import pytest
from django.test import Client

UPLOADS = [
    "/api/v1/places/imports/rooms",
    "/api/v1/people/imports/residents",
    "/api/v1/billing/meter-readings/import",
    "/api/v1/devices/import",
    "/api/v1/patrols/findings",
    "/api/v1/workorders/me",  # the residents' repair form
    "/api/v1/workorders/1/photos",
    "/api/v1/access/biometrics/me/face",
    "/api/v1/access/biometrics/me/voice",
]


@pytest.mark.parametrize("url", UPLOADS)
def test_malformed_multipart_is_a_400_in_the_envelope(world, login, url):
    client = login(world.platform_admin)

    response = client.post(url, data=b"--x\r\nnot a part", content_type="multipart/form-data")

    assert response.status_code == 400
    assert response.json() == {"error": {"code": "validation_error", "message": "提交的数据有误"}}


def test_a_body_over_ten_megabytes_is_a_413_in_the_envelope(world, login):
    client = login(world.platform_admin)

    response = client.post(
        "/api/v1/alarms/rules", data=b"{" + b" " * (20 * 1024 * 1024) + b"}", content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json() == {"error": {"code": "payload_too_large", "message": "上传的文件过大"}}


def test_a_form_over_ten_megabytes_outside_the_api_is_a_plain_413(db):
    response = Client().post("/accounts/login/", data={"username": "x" * (20 * 1024 * 1024)})

    assert response.status_code == 413
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "上传的文件过大"


def test_an_unknown_api_path_is_a_json_404():
    response = Client().get("/api/v1/nope")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "对象不存在或不在您的管辖范围内"}}


def test_a_wrong_method_is_a_json_405_that_names_the_allowed_ones(world, login):
    response = login(world.platform_admin).put("/api/v1/alarms/rules")

    assert response.status_code == 405
    assert response.json() == {"error": {"code": "method_not_allowed", "message": "请求无效"}}
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}


def test_pages_outside_the_api_keep_their_html_404(world, login):
    response = login(world.platform_admin).get("/console/nope/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
