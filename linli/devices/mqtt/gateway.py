"""``linli gateway``: the MQTT 5 subscriber that stores what devices publish.

Several gateways split one stream through the shared subscription ``$share/linli/<root>/+/+/+``.

Flow: paho's network thread receives QoS 1 PUBLISHes (``manual_ack=True``) and puts them on a
bounded queue; one database thread takes batches (up to ``batch_size`` messages or ``batch_ms``
after the first one), calls ``linli.devices.ingest.ingest(batch, via="mqtt")`` (decode, verify the
device signature, validate, store once per (device, seq), evaluate the alarm rules — one
transaction) and only then acknowledges every message of the batch. A message is therefore either
stored (or deliberately rejected and counted) before the broker forgets it, or redelivered.

Backpressure, twice: the CONNECT packet announces a Receive Maximum no larger than the queue, so the
broker never has more unacknowledged messages in flight to us than we can hold; and if the queue is
full anyway the network thread blocks on it and stops reading the socket.

Acknowledgements carry packet ids that are only meaningful on the connection that delivered them:
after a reconnect, acks for messages of the previous connection are dropped (the broker redelivers
those messages and the (device, seq) constraint turns them into duplicates).

Shutdown (SIGTERM/SIGINT): unsubscribe, let the in-flight messages arrive, store and acknowledge
what is queued, then disconnect. The session is persistent (``--session-expiry``) under a stable
client id (``--id``), so whatever the broker still holds for this gateway is delivered when it
comes back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from linli.devices.mqtt import config

log = logging.getLogger("linli.gateway")

IngestFn = Callable[..., object]


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

    def as_dict(self) -> dict:
        lat = sorted(self.latencies_ms)
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
        }


def default_client_id() -> str:
    return os.environ.get("LINLI_GATEWAY_ID") or f"linli-gw-{socket.gethostname()}"


class Gateway:
    """One gateway process's MQTT client, queue and database thread."""

    def __init__(
        self,
        *,
        broker: config.BrokerAddress,
        root: str = config.CANONICAL_ROOT,
        client_id: str | None = None,
        group: str = config.SHARE_GROUP,
        batch_size: int = 2000,
        batch_ms: float = 20.0,
        queue_size: int = 10000,
        session_expiry: int = 3600,
        stats_every: float = 10.0,
        ingest: IngestFn | None = None,
        keepalive: int = 30,
    ) -> None:
        self.broker = broker
        self.root = root
        self.client_id = client_id or default_client_id()
        self.subscription = config.subscription(root, group)
        self.batch_size = batch_size
        self.batch_wait = batch_ms / 1000.0
        self.queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.receive_maximum = max(1, min(65535, queue_size))
        self.session_expiry = session_expiry
        self.stats_every = stats_every
        self.keepalive = keepalive
        self.stats = GatewayStats()
        self._ingest = ingest
        self._generation = 0
        self._stop = threading.Event()
        self._db_done = threading.Event()
        self._last_message_at = 0.0
        self._busy = False
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client = self._make_client()

    # --- MQTT ---------------------------------------------------------------------------------

    def _make_client(self):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set(ca_certs=os.environ.get("LINLI_MQTT_CA") or None)
        client.reconnect_delay_set(min_delay=0.2, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _connect_properties(self):
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry
        props.ReceiveMaximum = self.receive_maximum
        return props

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("gateway %s: broker refused the connection: %s", self.client_id, reason_code)
            return
        self._generation += 1
        self.stats.connects += 1
        log.info(
            "gateway %s connected to %s (session present: %s), subscribing %s",
            self.client_id,
            self.broker.public_url,
            flags.session_present,
            self.subscription,
        )
        if not self._stop.is_set():
            from paho.mqtt.subscribeoptions import SubscribeOptions

            client.subscribe(self.subscription, options=SubscribeOptions(qos=1))
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(rc.is_failure for rc in reason_codes):
            log.error("gateway %s: subscription refused: %s", self.client_id, reason_codes)
            return
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            log.warning(
                "gateway %s disconnected (%s); reconnecting with backoff", self.client_id, reason_code
            )

    def _on_message(self, client, userdata, message) -> None:
        # Blocks when the queue is full: the network thread stops reading, the broker holds the rest.
        self.queue.put((self._generation, message.mid, message.qos, message.topic, message.payload))
        self.stats.received += 1
        self._last_message_at = time.monotonic()

    # --- database thread ----------------------------------------------------------------------

    def _take_batch(self) -> list:
        try:
            first = self.queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_wait
        while len(batch) < self.batch_size:
            try:
                batch.append(self.queue.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self.queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

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
            raw = [(topic, payload) for _g, _m, _q, topic, payload in batch]
            self._store(raw)
            generation = self._generation
            for gen, mid, qos, _t, _p in batch:
                if qos == 0:
                    continue
                if gen != generation:
                    self.stats.acks_dropped += 1
                    continue
                self.client.ack(mid, qos)
        finally:
            self._busy = False
        self.stats.batches += 1
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
            "batch p50 %s ms max %s ms",
            self.client_id,
            rate,
            self.queue.qsize(),
            now["stored"],
            now["duplicates"],
            now["rejected"],
            now["errors"],
            now["batch_p50_ms"],
            now["batch_max_ms"],
        )
        self.stats.latencies_ms.clear()
        return now

    def stop(self) -> None:
        """Ask ``run()`` to finish (safe from a signal handler)."""
        self._stop.set()

    def run(self, *, ready: Callable[[], None] | None = None) -> GatewayStats:
        """Connect, store until ``stop()``, then drain, acknowledge and disconnect."""
        db = threading.Thread(target=self._db_loop, name="linli-gateway-db", daemon=True)
        db.start()
        self.client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=self.keepalive,
            clean_start=False,
            properties=self._connect_properties(),
        )
        self.client.loop_start()
        if ready is not None:
            threading.Thread(target=lambda: (self.subscribed.wait(), ready()), daemon=True).start()
        last, last_at = {}, time.monotonic()
        while not self._stop.wait(0.5):
            if self.stats_every and time.monotonic() - last_at >= self.stats_every:
                last = self._log_stats(last, time.monotonic() - last_at)
                last_at = time.monotonic()
        self._shutdown(db)
        return self.stats

    def _shutdown(self, db: threading.Thread) -> None:
        log.info("gateway %s: stopping; storing what is queued (%d)", self.client_id, self.queue.qsize())
        if self.connected.is_set():
            self.client.unsubscribe(self.subscription)
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
        self.client.loop_stop()
        log.info("gateway %s: stopped %s", self.client_id, self.stats.as_dict())
