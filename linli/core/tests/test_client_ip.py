"""``client_ip``: the peer address, unless the peer is a trusted reverse proxy (R41, R49)."""

import pytest
from django.test import RequestFactory

from linli.core.middleware import client_ip


def _request(remote: str, **headers: str):
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_headers_from_an_untrusted_peer_are_ignored(settings):
    settings.TRUSTED_PROXIES = []

    request = _request("203.0.113.7", HTTP_X_REAL_IP="10.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.2")

    assert client_ip(request) == "203.0.113.7"


def test_a_trusted_proxy_names_the_client_with_x_real_ip(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]

    request = _request("127.0.0.1", HTTP_X_REAL_IP="198.51.100.4")

    assert client_ip(request) == "198.51.100.4"


def test_x_forwarded_for_gives_the_right_most_untrusted_hop(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    request = _request("10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.4, 10.0.0.9")

    assert client_ip(request) == "198.51.100.4"


@pytest.mark.parametrize("header", ["not-an-ip", "", "1.2.3.4, garbage, 10.0.0.9"])
def test_a_garbled_header_from_a_trusted_proxy_falls_back_to_the_peer(settings, header):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    request = _request("10.0.0.1", HTTP_X_REAL_IP="junk", HTTP_X_FORWARDED_FOR=header)

    assert client_ip(request) == "10.0.0.1"
