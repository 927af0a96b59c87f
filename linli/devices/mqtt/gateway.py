"""``linli gateway``: the MQTT 5 subscriber that stores what devices publish.

Several gateways split one stream through the shared subscription ``$share/linli/<root>/+/+/+``.

Flow: the network thread reads the socket in large chunks, cuts them into QoS 1 PUBLISH packets and
hands them, a chunk at a time, to a bounded inbox; one database thread takes batches (up to
``batch_size`` messages; see *Flush policy*), calls ``linli.devices.ingest.ingest(batch, via="mqtt")``
(decode, verify the device signature, validate, store once per (device, seq), evaluate the alarm
rules — one transaction) and only then acknowledges every message of the batch, all PUBACKs of a
batch in one write. A message is therefore either stored (or deliberately rejected and counted)
before the broker forgets it, or redelivered.

The MQTT client is the small subset of MQTT 5 a QoS 1 subscriber needs (CONNECT with Session Expiry
and Receive Maximum, SUBSCRIBE, PUBLISH in, PUBACK out, PINGREQ, UNSUBSCRIBE, DISCONNECT), written
here rather than taken from paho-mqtt because paho spends 4 ``recv`` calls, a message object, a
properties object and a queued packet per message: measured on the 2-core reference machine, paho
alone cost more CPU per message than the whole of ingest (see ``bench/README.md``).

Backpressure, twice: the CONNECT packet announces a Receive Maximum no larger than the inbox, so the
broker never has more unacknowledged messages in flight to us than we can hold; and if the inbox is
full anyway (QoS 0 messages do not count against Receive Maximum) the network thread stops reading
the socket until the database thread has taken a batch (it keeps sending PINGREQs meanwhile).

Flush policy: the database thread takes what is waiting at once when that fills a batch; otherwise it
lingers for more, but at most ``batch_ms`` after the first message and no longer than ``idle_ms``
after the last one arrived. Under load a batch is whatever arrived while the previous one was
stored (large batches, few transactions); a lone alarm event is stored within a few milliseconds.

Acknowledgements carry packet ids that are only meaningful on the connection that delivered them:
after a reconnect, acks for messages of the previous connection are dropped (checked under the same
lock that swaps the connection; the broker redelivers those messages and the (device, seq)
constraint turns them into duplicates).

Shutdown (SIGTERM/SIGINT): unsubscribe, let the in-flight messages arrive, store and acknowledge
what is queued, then disconnect. The session is persistent (``--session-expiry``) under a stable
client id (``--id``), so whatever the broker still holds for this gateway is delivered when it
comes back.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from linli.config import env
from linli.devices.mqtt import config

log = logging.getLogger("linli.gateway")

IngestFn = Callable[..., object]

RECV_SIZE = 256 * 1024
CONNECT_TIMEOUT = 10.0
RECONNECT_MIN, RECONNECT_MAX = 0.2, 10.0


# --- MQTT 5 wire format (the subset the gateway and the bench need) --------------------------------


class ProtocolError(Exception):
    """The broker sent something a QoS 1 subscriber cannot accept; the connection is dropped."""


class ConnectionLost(Exception):
    pass


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(value, position after it), or None when ``buf`` ends inside the varint."""
    value, shift = 0, 0
    for i in range(pos, min(pos + 4, len(buf))):
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i + 1
        shift += 7
    if len(buf) - pos >= 4:
        raise ProtocolError("malformed variable byte integer")
    return None


def _string(value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return struct.pack(">H", len(data)) + data


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + varint(len(body)) + body


def connect_packet(
    client_id: str,
    *,
    keepalive: int = 30,
    clean_start: bool = False,
    session_expiry: int = 0,
    receive_maximum: int | None = None,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    props = b""
    if session_expiry:
        props += b"\x11" + struct.pack(">I", session_expiry)
    if receive_maximum:
        props += b"\x21" + struct.pack(">H", receive_maximum)
    flags = 0x02 if clean_start else 0
    payload = _string(client_id)
    if username is not None:
        flags |= 0x80
        payload += _string(username)
        if password is not None:
            flags |= 0x40
            payload += _string(password)
    header = _string("MQTT") + bytes([5, flags]) + struct.pack(">H", keepalive) + varint(len(props)) + props
    return _packet(0x10, header + payload)


def subscribe_packet(packet_id: int, topic_filter: str, qos: int = 1) -> bytes:
    return _packet(0x82, struct.pack(">H", packet_id) + b"\x00" + _string(topic_filter) + bytes([qos]))


def unsubscribe_packet(packet_id: int, topic_filter: str) -> bytes:
    return _packet(0xA2, struct.pack(">H", packet_id) + b"\x00" + _string(topic_filter))


def publish_packet(topic: bytes, payload: bytes, packet_id: int = 0, qos: int = 1) -> bytes:
    """A PUBLISH without properties (the bench's load generator uses it with pre-encoded payloads)."""
    head = struct.pack(">H", len(topic)) + topic + (struct.pack(">H", packet_id) if qos else b"") + b"\x00"
    return bytes([0x30 | (qos << 1)]) + varint(len(head) + len(payload)) + head + payload


def puback_packets(packet_ids: list[int]) -> bytes:
    """PUBACKs (success, no properties: 0x40 0x02 id) for many packet ids in one buffer."""
    return struct.pack(f">{len(packet_ids)}I", *[0x40020000 | pid for pid in packet_ids])


PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"  # normal disconnection; the session is kept for its expiry interval

# CONNACK property id → size in bytes (0 = UTF-8 string / binary data, -1 = string pair, -2 = varint)
_PROPERTY_SIZE = {
    0x01: 1, 0x17: 1, 0x19: 1, 0x24: 1, 0x25: 1, 0x28: 1, 0x29: 1, 0x2A: 1,
    0x13: 2, 0x21: 2, 0x22: 2, 0x23: 2,
    0x02: 4, 0x11: 4, 0x18: 4, 0x27: 4,
    0x0B: -2,
    0x03: 0, 0x08: 0, 0x09: 0, 0x12: 0, 0x15: 0, 0x16: 0, 0x1A: 0, 0x1C: 0, 0x1F: 0,
    0x26: -1,
}  # fmt: skip


def parse_properties(data: bytes) -> dict[int, object]:
    out: dict[int, object] = {}
    pos = 0
    while pos < len(data):
        pid = data[pos]
        pos += 1
        size = _PROPERTY_SIZE.get(pid)
        if size is None:
            raise ProtocolError(f"unknown property 0x{pid:02x}")
        if size > 0:
            out[pid] = int.from_bytes(data[pos : pos + size], "big")
            pos += size
        elif size == -2:
            got = _read_varint(data, pos)
            if got is None:
                raise ProtocolError("truncated property")
            out[pid], pos = got
        else:
            for _ in range(2 if size == -1 else 1):
                n = int.from_bytes(data[pos : pos + 2], "big")
                out[pid] = data[pos + 2 : pos + 2 + n]
                pos += 2 + n
    return out


def read_packet(sock: socket.socket) -> tuple[int, bytes]:
    """One whole packet (first byte, body) from a blocking socket: only used before the read loop."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionLost("connection closed by the broker")
            data += chunk
        return data

    first = exactly(1)[0]
    length, shift = 0, 0
    for _ in range(4):
        byte = exactly(1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    else:
        raise ProtocolError("malformed remaining length")
    return first, exactly(length)


@dataclass(frozen=True)
class Connack:
    session_present: bool
    reason_code: int
    properties: dict


def parse_connack(first: int, body: bytes) -> Connack:
    if first != 0x20 or len(body) < 2:
        raise ProtocolError(f"expected CONNACK, got packet type {first >> 4}")
    props: dict = {}
    if len(body) > 2:
        got = _read_varint(body, 2)
        if got is None:
            raise ProtocolError("truncated CONNACK")
        n, pos = got
        props = parse_properties(body[pos : pos + n])
    return Connack(bool(body[0] & 1), body[1], props)


# --- the subscriber connection --------------------------------------------------------------------


class MqttSubscriber:
    """One persistent MQTT 5 session that subscribes with QoS 1 and acknowledges on request.

    ``run()`` is the network thread: it connects (and reconnects with backoff 0.2 s → 10 s), reads,
    and passes lists of ``(generation, packet_id, qos, topic, payload)`` to ``deliver``, which may
    block (that is the backpressure). ``ack_many()`` may be called from any thread.
    """

    def __init__(
        self,
        *,
        broker: config.BrokerAddress,
        client_id: str,
        subscription: str,
        deliver: Callable[[list], None],
        keepalive: int = 30,
        session_expiry: int = 3600,
        receive_maximum: int = 10000,
        on_connected: Callable[[bool], None] | None = None,
        on_subscribed: Callable[[], None] | None = None,
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.subscription = subscription
        self.deliver = deliver
        self.keepalive = keepalive
        self.session_expiry = session_expiry
        self.receive_maximum = max(1, min(65535, receive_maximum))
        self.on_connected = on_connected
        self.on_subscribed = on_subscribed
        self.on_lost = on_lost
        self.generation = 0
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._last_send = 0.0
        self._ping_sent_at: float | None = None
        self._packet_id = 0
        self._subscribe_id: int | None = None
        self._unsubscribe_id: int | None = None
        self._closing = threading.Event()
        self._wake = threading.Event()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    # sending (any thread)

    def _send(self, data: bytes, sock: socket.socket | None = None) -> bool:
        with self._send_lock:
            sock = sock or self._sock
            if sock is None:
                return False
            try:
                sock.sendall(data)
            except OSError as exc:
                log.warning("gateway %s: send failed (%s)", self.client_id, exc)
                self._drop(sock)
                return False
            self._last_send = time.monotonic()
            return True

    def ack_many(self, pairs: list[tuple[int, int]]) -> int:
        """PUBACK every ``(generation, packet_id)`` of the current connection in one write;
        returns how many were dropped because they belong to an earlier connection."""
        with self._send_lock:
            current = self.generation
            ids = [pid for gen, pid in pairs if gen == current]
            dropped = len(pairs) - len(ids)
            sock = self._sock
            if not ids:
                return dropped
            if sock is None:
                return len(pairs)
            try:
                sock.sendall(puback_packets(ids))
            except OSError as exc:
                log.warning("gateway %s: acknowledgements not sent (%s)", self.client_id, exc)
                self._drop(sock)
                return len(pairs)
            self._last_send = time.monotonic()
            return dropped

    def _next_id(self) -> int:
        self._packet_id = self._packet_id % 65535 + 1
        return self._packet_id

    def unsubscribe(self) -> None:
        with self._send_lock:
            pid = self._unsubscribe_id = self._next_id()
        self._send(unsubscribe_packet(pid, self.subscription))

    def disconnect(self) -> None:
        """Send DISCONNECT (the session stays for its expiry interval), close, end ``run()``."""
        self._closing.set()
        self._wake.set()
        with self._send_lock:
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.sendall(DISCONNECT)
            self._drop(sock)

    def keepalive_tick(self) -> None:
        """Send a PINGREQ when nothing was sent for a while (safe from any thread)."""
        if not self.keepalive or time.monotonic() - self._last_send < self.keepalive / 2:
            return
        if self._send(PINGREQ) and self._ping_sent_at is None:
            self._ping_sent_at = time.monotonic()

    def _drop(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    # connecting (network thread)

    def _open(self) -> tuple[socket.socket, Connack]:
        b = self.broker
        sock = socket.create_connection((b.host, b.port), timeout=CONNECT_TIMEOUT)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if b.tls:
                import ssl

                ctx = ssl.create_default_context(cafile=env.mqtt().ca_file)
                sock = ctx.wrap_socket(sock, server_hostname=b.host)
            sock.sendall(
                connect_packet(
                    self.client_id,
                    keepalive=self.keepalive,
                    clean_start=False,
                    session_expiry=self.session_expiry,
                    receive_maximum=self.receive_maximum,
                    username=b.username,
                    password=b.password if b.username else None,
                )
            )
            connack = parse_connack(*read_packet(sock))
        except BaseException:
            sock.close()
            raise
        return sock, connack

    def run(self) -> None:
        delay = RECONNECT_MIN
        while not self._closing.is_set():
            try:
                sock, connack = self._open()
            except (OSError, ConnectionLost, ProtocolError) as exc:
                log.warning(
                    "gateway %s: cannot connect to %s (%s); retrying in %.1fs",
                    self.client_id,
                    self.broker.public_url,
                    exc,
                    delay,
                )
                self._wake.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX)
                continue
            if connack.reason_code >= 0x80:
                sock.close()
                log.error(
                    "gateway %s: broker refused the connection (reason 0x%02x); retrying in %.1fs",
                    self.client_id,
                    connack.reason_code,
                    delay,
                )
                self._wake.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX)
                continue
            delay = RECONNECT_MIN
            server_keepalive = connack.properties.get(0x13)
            if isinstance(server_keepalive, int):
                self.keepalive = server_keepalive
            with self._send_lock:
                self.generation += 1
                self._sock = sock
                self._ping_sent_at = None
                self._last_send = time.monotonic()
                self._subscribe_id = None
                if not self._closing.is_set():
                    self._subscribe_id = self._next_id()
            if self.on_connected:
                self.on_connected(connack.session_present)
            reason = "closed"
            try:
                if self._subscribe_id is not None:
                    self._send(subscribe_packet(self._subscribe_id, self.subscription, qos=1), sock)
                self._read_loop(sock)
            except (OSError, ConnectionLost, ProtocolError) as exc:
                reason = str(exc) or exc.__class__.__name__
            finally:
                with self._send_lock:
                    if self._sock is sock:
                        self._sock = None
                sock.close()
            if self.on_lost:
                self.on_lost(reason)
            if not self._closing.is_set():
                # Reconnect soon: Mosquitto drops shared-subscription messages while no member is there.
                self._wake.wait(RECONNECT_MIN)

    def _read_loop(self, sock: socket.socket) -> None:
        sock.settimeout(1.0)
        generation = self.generation
        deliver = self.deliver
        buf = b""
        topics: dict[bytes, str] = {}
        # recv_into one preallocated buffer: sock.recv(256 KiB) would allocate (mmap) 256 KiB per call
        chunk = bytearray(RECV_SIZE)
        view = memoryview(chunk)
        while True:
            try:
                got = sock.recv_into(chunk)
            except TimeoutError:
                got = -1
            if got == 0:
                raise ConnectionLost("connection closed by the broker")
            if got > 0:
                buf = buf + view[:got] if buf else bytes(view[:got])
                n = len(buf)
                pos = 0
                messages = []
                while n - pos >= 2:
                    first = buf[pos]
                    length = buf[pos + 1]
                    head = pos + 2
                    if length & 0x80:
                        varlen = _read_varint(buf, pos + 1)
                        if varlen is None:
                            break
                        length, head = varlen
                    end = head + length
                    if end > n:
                        break
                    if first >> 4 == 3:  # PUBLISH
                        qos = (first >> 1) & 3
                        tlen = (buf[head] << 8) | buf[head + 1]
                        p = head + 2 + tlen
                        tb = buf[head + 2 : p]
                        topic = topics.get(tb)
                        if topic is None:
                            topic = tb.decode("utf-8", "replace")
                            if len(topics) < 100_000:
                                topics[tb] = topic
                        mid = 0
                        if qos:
                            if qos == 2:
                                raise ProtocolError("QoS 2 PUBLISH on a QoS 1 subscription")
                            mid = (buf[p] << 8) | buf[p + 1]
                            p += 2
                        plen = buf[p]
                        if plen & 0x80:
                            plen, p = _read_varint(buf, p)  # type: ignore[misc]
                            p += plen
                        else:
                            p += 1 + plen
                        messages.append((generation, mid, qos, topic, buf[p:end]))
                    else:
                        self._control(first, buf[head:end])
                    pos = end
                buf = buf[pos:]
                if messages:
                    deliver(messages)
            now = time.monotonic()
            if self._ping_sent_at is not None and now - self._ping_sent_at > max(self.keepalive, 5):
                raise ConnectionLost("no PINGRESP from the broker")
            self.keepalive_tick()

    def _control(self, first: int, body: bytes) -> None:
        kind = first >> 4
        if kind == 13:  # PINGRESP
            self._ping_sent_at = None
        elif kind == 9:  # SUBACK: packet id, properties, one reason code per filter
            got = _read_varint(body, 2) if len(body) > 2 else None
            codes = body[got[1] + got[0] :] if got else b""
            if not codes or any(c >= 0x80 for c in codes):
                log.error("gateway %s: subscription refused: %s", self.client_id, codes.hex())
            elif self.on_subscribed:
                self.on_subscribed()
        elif kind == 11:  # UNSUBACK
            pass
        elif kind == 14:  # DISCONNECT from the broker
            raise ConnectionLost(f"disconnected by the broker (reason 0x{body[0] if body else 0:02x})")
        else:  # CONNACK again, PUBACK/PUBREC/... of publishes we never send, AUTH
            raise ProtocolError(f"unexpected packet type {kind}")


# --- the gateway ------------------------------------------------------------------------------------


@dataclass
class GatewayStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: int = 0
    batches: int = 0
    acks_dropped: int = 0
    connects: int = 0
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=2000))
    sizes: deque = field(default_factory=lambda: deque(maxlen=2000))

    def as_dict(self) -> dict:
        lat = sorted(self.latencies_ms)
        sizes = sorted(self.sizes)
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": self.errors,
            "batches": self.batches,
            "acks_dropped": self.acks_dropped,
            "connects": self.connects,
            "batch_p50_ms": round(lat[len(lat) // 2], 1) if lat else None,
            "batch_max_ms": round(lat[-1], 1) if lat else None,
            "batch_p50_size": sizes[len(sizes) // 2] if sizes else None,
        }


class Inbox:
    """The bounded hand-off between the network thread and the database thread."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque = deque()
        lock = threading.Lock()
        self._not_empty = threading.Condition(lock)
        self._not_full = threading.Condition(lock)
        self.last_put = 0.0

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_many(self, items: list, timeout: float | None = None) -> bool:
        """Append ``items`` once there is room for them (or the inbox is empty); False on timeout."""
        with self._not_full:
            while self._items and len(self._items) + len(items) > self.maxsize:
                if not self._not_full.wait(timeout):
                    return False
            self._items.extend(items)
            self.last_put = time.monotonic()
            self._not_empty.notify()
        return True

    def take(self, max_n: int, linger: float, idle: float, first_timeout: float = 0.2) -> list:
        """Up to ``max_n`` items: [] when none came within ``first_timeout``; see *Flush policy*."""
        items = self._items
        with self._not_empty:
            if not items:
                self._not_empty.wait(first_timeout)
                if not items:
                    return []
            if len(items) < max_n and linger > 0:
                deadline = time.monotonic() + linger
                while len(items) < max_n:
                    now = time.monotonic()
                    quiet = now - self.last_put
                    if now >= deadline or quiet >= idle:
                        break
                    self._not_empty.wait(min(deadline - now, idle - quiet))
            n = min(max_n, len(items))
            popleft = items.popleft
            batch = [popleft() for _ in range(n)]
            self._not_full.notify()
        return batch


def _settle_gc() -> None:
    """Move everything loaded at start (Django, models, the ingest module and the rule engine that
    subscribes to it in ``AlarmsConfig.ready``) out of the garbage collector's sight and collect
    young objects less often: the hot path allocates a few containers per message, and with the
    default thresholds the collector's passes over the start-up objects cost ~25% of the gateway's
    CPU (measured: 21 → 15 µs per message)."""
    import gc

    import linli.devices.ingest  # noqa: F401  (imported here so that its objects are frozen too)

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def default_client_id() -> str:
    return env.mqtt().gateway_id or f"linli-gw-{socket.gethostname()}"


class Gateway:
    """One gateway process's MQTT connection, inbox and database thread."""

    def __init__(
        self,
        *,
        broker: config.BrokerAddress,
        root: str = config.CANONICAL_ROOT,
        client_id: str | None = None,
        group: str = config.SHARE_GROUP,
        batch_size: int = 2000,
        batch_ms: float = 5.0,
        idle_ms: float = 1.0,
        queue_size: int = 10000,
        session_expiry: int = 3600,
        stats_every: float = 10.0,
        ingest: IngestFn | None = None,
        keepalive: int = 30,
        settle_gc: bool = True,
    ) -> None:
        self.broker = broker
        self.settle_gc = settle_gc  # False when the gateway runs inside another program (tests)
        self.root = root
        self.client_id = client_id or default_client_id()
        self.subscription = config.subscription(root, group)
        self.batch_size = batch_size
        self.batch_wait = batch_ms / 1000.0
        self.idle_wait = idle_ms / 1000.0
        self.queue = Inbox(queue_size)
        self.receive_maximum = max(1, min(65535, queue_size))
        self.session_expiry = session_expiry
        self.stats_every = stats_every
        self.keepalive = keepalive
        self.stats = GatewayStats()
        self._ingest = ingest
        self._stop = threading.Event()
        self._db_done = threading.Event()
        self._last_message_at = 0.0
        self._busy = False
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client = MqttSubscriber(
            broker=broker,
            client_id=self.client_id,
            subscription=self.subscription,
            deliver=self._on_messages,
            keepalive=keepalive,
            session_expiry=session_expiry,
            receive_maximum=self.receive_maximum,
            on_connected=self._on_connect,
            on_subscribed=self._on_subscribe,
            on_lost=self._on_disconnect,
        )

    # --- MQTT (network thread) ----------------------------------------------------------------

    def _on_connect(self, session_present: bool) -> None:
        self.stats.connects += 1
        log.info(
            "gateway %s connected to %s (session present: %s), subscribing %s",
            self.client_id,
            self.broker.public_url,
            session_present,
            self.subscription,
        )
        self.connected.set()

    def _on_subscribe(self) -> None:
        self.subscribed.set()

    def _on_disconnect(self, reason: str) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            log.warning("gateway %s disconnected (%s); reconnecting", self.client_id, reason)

    def _on_messages(self, messages: list) -> None:
        # Blocks while the inbox is full: the network thread stops reading, the broker holds the rest.
        while not self.queue.put_many(messages, timeout=1.0):
            if self.client.closing:
                return  # not acknowledged: the broker delivers them again to this session
            self.client.keepalive_tick()
        self.stats.received += len(messages)
        self._last_message_at = time.monotonic()

    # --- database thread ----------------------------------------------------------------------

    def _take_batch(self) -> list:
        return self.queue.take(self.batch_size, self.batch_wait, self.idle_wait)

    def _ingest_fn(self) -> IngestFn:
        if self._ingest is None:
            from linli.devices.ingest import ingest

            self._ingest = ingest
        return self._ingest

    def _store(self, raw: list[tuple[str, bytes]]) -> None:
        """Ingest ``raw`` until it is committed; bisect around a message that makes ingest fail."""
        from django.db import connection
        from django.db.utils import InterfaceError, OperationalError

        ingest = self._ingest_fn()
        delay = 0.2
        while True:
            try:
                result = ingest(raw, via="mqtt")
            except (OperationalError, InterfaceError) as exc:
                # The database is unreachable or the connection broke: keep the batch, retry.
                log.warning("gateway %s: database error (%s); retrying in %.1fs", self.client_id, exc, delay)
                with contextlib.suppress(Exception):  # a broken connection may fail to close too
                    connection.close()
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            except Exception:
                if len(raw) == 1:
                    # A message ingest cannot handle at all (a bug, not a validation failure):
                    # logged with a sample and acknowledged, so it cannot block the stream forever.
                    self.stats.errors += 1
                    log.exception(
                        "gateway %s: ingest failed for one message on %s (%r…); dropped",
                        self.client_id,
                        raw[0][0],
                        raw[0][1][:200],
                    )
                    return
                half = len(raw) // 2
                self._store(raw[:half])
                self._store(raw[half:])
                return
            self.stats.stored += int(getattr(result, "stored", 0))
            self.stats.duplicates += int(getattr(result, "duplicates", 0))
            self.stats.rejected += int(getattr(result, "rejected", 0))
            return

    def _process(self, batch: list) -> None:
        started = time.perf_counter()
        self._busy = True
        try:
            self._store([(topic, payload) for _g, _m, _q, topic, payload in batch])
            pairs = [(gen, mid) for gen, mid, qos, _t, _p in batch if qos]
            if pairs:
                self.stats.acks_dropped += self.client.ack_many(pairs)
        finally:
            self._busy = False
        self.stats.batches += 1
        self.stats.sizes.append(len(batch))
        self.stats.latencies_ms.append((time.perf_counter() - started) * 1000)

    def _db_loop(self) -> None:
        from django.db import connection

        try:
            while not (self._stop.is_set() and self._db_done.is_set() and self.queue.empty()):
                batch = self._take_batch()
                if batch:
                    self._process(batch)
        finally:
            connection.close()

    # --- lifecycle ----------------------------------------------------------------------------

    def _log_stats(self, last: dict, elapsed: float) -> dict:
        now = self.stats.as_dict()
        rate = (now["received"] - last.get("received", 0)) / elapsed if elapsed > 0 else 0.0
        log.info(
            "gateway %s: %.0f msg/s, queue %d, stored %d, duplicates %d, rejected %d, errors %d, "
            "batch p50 %s ms max %s ms, p50 size %s",
            self.client_id,
            rate,
            self.queue.qsize(),
            now["stored"],
            now["duplicates"],
            now["rejected"],
            now["errors"],
            now["batch_p50_ms"],
            now["batch_max_ms"],
            now["batch_p50_size"],
        )
        self.stats.latencies_ms.clear()
        self.stats.sizes.clear()
        return now

    def stop(self) -> None:
        """Ask ``run()`` to finish (safe from a signal handler)."""
        self._stop.set()

    def run(self, *, ready: Callable[[], None] | None = None) -> GatewayStats:
        """Connect, store until ``stop()``, then drain, acknowledge and disconnect."""
        if self.settle_gc:
            _settle_gc()
        db = threading.Thread(target=self._db_loop, name="linli-gateway-db", daemon=True)
        db.start()
        net = threading.Thread(target=self.client.run, name="linli-gateway-mqtt", daemon=True)
        net.start()
        if ready is not None:
            threading.Thread(target=lambda: (self.subscribed.wait(), ready()), daemon=True).start()
        last: dict = {}
        last_at = time.monotonic()
        while not self._stop.wait(0.5):
            if self.stats_every and time.monotonic() - last_at >= self.stats_every:
                last = self._log_stats(last, time.monotonic() - last_at)
                last_at = time.monotonic()
        self._shutdown(db, net)
        return self.stats

    def _shutdown(self, db: threading.Thread, net: threading.Thread) -> None:
        log.info("gateway %s: stopping; storing what is queued (%d)", self.client_id, self.queue.qsize())
        if self.connected.is_set():
            self.client.unsubscribe()
        # Messages the broker sent before the UNSUBSCRIBE took effect are still arriving.
        quiet_since = time.monotonic()
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if not self.queue.empty() or self._busy or time.monotonic() - self._last_message_at < 0.3:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.3:
                break
            time.sleep(0.05)
        self._db_done.set()
        db.join(timeout=30)
        self.client.disconnect()
        net.join(timeout=5)
        log.info("gateway %s: stopped %s", self.client_id, self.stats.as_dict())
