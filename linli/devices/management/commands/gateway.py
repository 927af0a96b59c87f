"""``linli gateway``: subscribe to the device stream and store it (see ``linli.devices.mqtt.gateway``).

    LINLI_MQTT_URL=mqtt://linli-gateway:<password>@mqtt.internal:1883 linli gateway --id gw-1

Run N of them (each with its own stable ``--id``): MQTT 5 shared subscriptions split the stream.
SIGTERM stores and acknowledges what is queued, then disconnects.
"""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand, CommandError

from linli.devices.mqtt import config
from linli.devices.mqtt.gateway import Gateway, default_client_id


class Command(BaseCommand):
    help = "Store what devices publish over MQTT (shared subscription, batched, acknowledged after commit)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--id", default=None, help="stable MQTT client id (default LINLI_GATEWAY_ID or host name)"
        )
        parser.add_argument(
            "--batch-size", type=int, default=2000, help="messages per transaction (default 2000)"
        )
        parser.add_argument(
            "--batch-ms", type=float, default=5.0, help="max wait to fill a batch (default 5 ms)"
        )
        parser.add_argument(
            "--idle-ms", type=float, default=1.0, help="store a batch after this much silence (default 1 ms)"
        )
        parser.add_argument("--queue-size", type=int, default=10000, help="bounded queue / receive maximum")
        parser.add_argument("--session-expiry", type=int, default=3600, help="persistent session, seconds")
        parser.add_argument(
            "--stats-every", type=float, default=10.0, help="seconds between stats lines (0 = off)"
        )

    def handle(self, *args, **options) -> None:
        try:
            broker = config.broker_from_env()
            root = config.topic_root()
        except config.BadMqttUrl as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if options["batch_size"] < 1 or options["queue_size"] < options["batch_size"]:
            raise CommandError("--queue-size must be at least --batch-size, both positive", returncode=2)
        gateway = Gateway(
            broker=broker,
            root=root,
            client_id=options["id"] or default_client_id(),
            batch_size=options["batch_size"],
            batch_ms=options["batch_ms"],
            idle_ms=options["idle_ms"],
            queue_size=options["queue_size"],
            session_expiry=options["session_expiry"],
            stats_every=options["stats_every"],
        )
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: gateway.stop())
        self.stdout.write(f"linli gateway {gateway.client_id}: {broker.public_url} {gateway.subscription}")
        self.stdout.flush()
        gateway.run(ready=lambda: self._ready())

    def _ready(self) -> None:
        self.stdout.write("linli gateway: subscribed")
        self.stdout.flush()
