"""The typed env reader: values read outside Django settings and the checks done at boot."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from linli.config import env


def test_demo_scale_out_of_range_is_refused(monkeypatch):
    # given a bad scale
    monkeypatch.setenv("LINLI_DEMO_SCALE", "0")
    # when it is read, then it is refused
    with pytest.raises(ImproperlyConfigured, match=r"LINLI_DEMO_SCALE must be in \(0, 4\]"):
        env.env_float("LINLI_DEMO_SCALE", 1.0, above=0, at_most=4)


def test_demo_scale_is_read_as_a_number(monkeypatch):
    # given a tiny scale, when it is read, then it is that number
    monkeypatch.setenv("LINLI_DEMO_SCALE", "0.05")
    assert env.env_float("LINLI_DEMO_SCALE", 1.0, above=0, at_most=4) == 0.05


def test_mqtt_defaults_without_variables(monkeypatch):
    # given none of the MQTT variables
    for name in ("LINLI_MQTT_URL", "LINLI_MQTT_TOPIC_ROOT", "LINLI_MQTT_CA", "LINLI_GATEWAY_ID"):
        monkeypatch.delenv(name, raising=False)
    # when they are read, then the embedded defaults apply
    assert env.mqtt() == env.Mqtt(
        url="mqtt://127.0.0.1:1883", topic_root="linli/v1", ca_file=None, gateway_id=None
    )


def test_mqtt_variables_are_read_when_asked(monkeypatch):
    # given variables set after settings were loaded, as the gateway tests do
    monkeypatch.setenv("LINLI_MQTT_URL", "mqtts://gw:pw@broker:8883")
    monkeypatch.setenv("LINLI_MQTT_TOPIC_ROOT", "/test/abc/")
    monkeypatch.setenv("LINLI_MQTT_CA", "/etc/ca.pem")
    monkeypatch.setenv("LINLI_GATEWAY_ID", "gw-1")
    # when they are read, then each is there, the topic root without slashes at its ends
    assert env.mqtt() == env.Mqtt(
        url="mqtts://gw:pw@broker:8883", topic_root="test/abc", ca_file="/etc/ca.pem", gateway_id="gw-1"
    )


def test_trusted_proxies_are_read_as_networks(monkeypatch):
    monkeypatch.setenv("LINLI_TRUSTED_PROXIES", "127.0.0.1, 10.0.1.7/24,::1")

    assert env.env_networks("LINLI_TRUSTED_PROXIES") == ["127.0.0.1/32", "10.0.1.0/24", "::1/128"]


def test_a_malformed_trusted_proxy_stops_the_boot(monkeypatch):
    monkeypatch.setenv("LINLI_TRUSTED_PROXIES", "nginx.internal")

    with pytest.raises(ImproperlyConfigured, match="LINLI_TRUSTED_PROXIES"):
        env.env_networks("LINLI_TRUSTED_PROXIES")


def test_no_proxy_is_trusted_by_default(monkeypatch):
    monkeypatch.delenv("LINLI_TRUSTED_PROXIES", raising=False)

    assert env.env_networks("LINLI_TRUSTED_PROXIES") == []
