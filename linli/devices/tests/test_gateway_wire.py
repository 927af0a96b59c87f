"""The gateway's MQTT 5 subset and its inbox, without a broker: packets cut across reads, the packet
layouts the broker sees, and the flush policy of the database thread."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from linli.devices.mqtt import config
from linli.devices.mqtt.gateway import (
    ConnectionLost,
    Inbox,
    MqttSubscriber,
    ProtocolError,
    connect_packet,
    parse_connack,
    puback_packets,
    publish_packet,
    read_packet,
    subscribe_packet,
    varint,
)


def _subscriber(delivered: list) -> MqttSubscriber:
    return MqttSubscriber(
        broker=config.BrokerAddress("127.0.0.1", 1),
        client_id="t",
        subscription="$share/linli/r/+/+/+",
        deliver=delivered.extend,
    )


def _publish_with_properties(topic: bytes, payload: bytes, packet_id: int, props: bytes) -> bytes:
    body = struct.pack(">H", len(topic)) + topic + struct.pack(">H", packet_id) + varint(len(props)) + props
    return b"\x32" + varint(len(body) + len(payload)) + body + payload


def _read_all(stream: bytes, step: int) -> list:
    """Feed ``stream`` to the read loop ``step`` bytes at a time; the messages it delivered."""
    delivered: list = []
    sub = _subscriber(delivered)
    sub.generation = 7
    ours, broker = socket.socketpair()
    try:

        def feed() -> None:
            for i in range(0, len(stream), step):
                broker.sendall(stream[i : i + step])
                time.sleep(0.0005)
            broker.close()

        feeder = threading.Thread(target=feed)
        feeder.start()
        with pytest.raises(ConnectionLost):
            sub._read_loop(ours)
        feeder.join()
    finally:
        ours.close()
    return delivered


@pytest.mark.parametrize("step", [1, 3, 7, 4096])
def test_publishes_are_cut_out_of_any_chunking(step):
    # given QoS 1 and QoS 0 publishes, one with properties and a payload needing a 2-byte length,
    # and a PINGRESP between them
    big = b"x" * 300
    stream = (
        publish_packet(b"linli/v1/E/d1/telemetry", b'{"seq":1}', 11)
        + b"\xd0\x00"
        + _publish_with_properties(b"linli/v1/E/d2/event", big, 12, b"\x01\x01\x02\x00\x00\x00\x3c")
        + publish_packet("linli/v1/E/设备/status".encode(), b"{}", qos=0)
    )
    # when the stream arrives in chunks of ``step`` bytes
    got = _read_all(stream, step)
    # then every message is delivered whole, in order, with its connection generation and packet id
    assert got == [
        (7, 11, 1, "linli/v1/E/d1/telemetry", b'{"seq":1}'),
        (7, 12, 1, "linli/v1/E/d2/event", big),
        (7, 0, 0, "linli/v1/E/设备/status", b"{}"),
    ]


def test_qos2_publish_and_unexpected_packets_drop_the_connection():
    ours, broker = socket.socketpair()
    try:
        broker.sendall(b"\x34\x07\x00\x01t\x00\x05\x00x")  # QoS 2
        with pytest.raises(ProtocolError):
            _subscriber([])._read_loop(ours)
    finally:
        ours.close()
        broker.close()
    ours, broker = socket.socketpair()
    try:
        broker.sendall(b"\x40\x02\x00\x01")  # a PUBACK for a publish we never sent
        with pytest.raises(ProtocolError):
            _subscriber([])._read_loop(ours)
    finally:
        ours.close()
        broker.close()


def test_connect_subscribe_and_ack_layouts():
    # CONNECT: MQTT 5, persistent session, credentials, Session Expiry and Receive Maximum
    packet = connect_packet(
        "gw-1", keepalive=30, session_expiry=3600, receive_maximum=10000, username="u", password="p"
    )
    assert packet == (
        b"\x10\x1f\x00\x04MQTT\x05\xc0\x00\x1e"
        + b"\x08\x11\x00\x00\x0e\x10\x21\x27\x10"
        + b"\x00\x04gw-1\x00\x01u\x00\x01p"
    )
    assert subscribe_packet(5, "a/+") == b"\x82\x09\x00\x05\x00\x00\x03a/+\x01"
    assert puback_packets([1, 258]) == b"\x40\x02\x00\x01\x40\x02\x01\x02"


def test_connack_with_properties_is_parsed():
    ours, broker = socket.socketpair()
    try:
        broker.sendall(b"\x20\x09\x01\x00\x06\x13\x00\x3c\x21\x00\x0a")
        connack = parse_connack(*read_packet(ours))
    finally:
        ours.close()
        broker.close()
    assert connack.session_present is True
    assert connack.reason_code == 0
    assert connack.properties == {0x13: 60, 0x21: 10}


def test_inbox_takes_a_full_batch_at_once_and_a_lone_message_after_the_linger():
    inbox = Inbox(100)
    assert inbox.take(10, linger=0.005, idle=0.001, first_timeout=0.01) == []
    inbox.put_many(list(range(25)))
    # a full batch is taken without waiting
    assert inbox.take(10, linger=5.0, idle=5.0) == list(range(10))
    assert inbox.take(10, linger=5.0, idle=5.0) == list(range(10, 20))
    # fewer than a batch: taken once nothing new arrived for ``idle``
    started = time.monotonic()
    assert inbox.take(10, linger=5.0, idle=0.02) == list(range(20, 25))
    assert time.monotonic() - started < 2.0


def test_inbox_is_bounded():
    inbox = Inbox(3)
    assert inbox.put_many([1, 2]) is True
    assert inbox.put_many([3, 4], timeout=0.01) is False  # no room: the network thread waits
    assert inbox.qsize() == 2
    assert inbox.put_many([3]) is True
