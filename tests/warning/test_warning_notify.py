"""Notifications: a local webhook receiver and a local SMTP server, including ones that fail."""

from __future__ import annotations

import json
import socket
import threading
import time
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from healthwatch.services import warning as svc
from healthwatch.store.db import session_scope
from healthwatch.users import LOCAL_ADMIN
from healthwatch.warning.notify import RetryPolicy, deliver

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")


class Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict]] = []
    delay = 0.0

    def do_POST(self) -> None:
        if self.delay:
            time.sleep(self.delay)
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        return


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hook"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    def __init__(self, refuse: bool = False) -> None:
        self.messages: list[bytes] = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "554 5.7.1 relay refused"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_servers():
    good, bad = Mailbox(), Mailbox(refuse=True)
    controllers = []
    for box in (good, bad):
        c = aiosmtpd_controller.Controller(box, hostname="127.0.0.1", port=closed_port())
        c.start()
        controllers.append(c)
    yield [(box, f"127.0.0.1:{c.port}") for box, c in zip((good, bad), controllers, strict=True)]
    for c in controllers:
        c.stop()


def test_deliver_retries_with_backoff_and_records_every_try():
    calls, sleeps = [], []

    def flaky(timeout: float) -> None:
        calls.append(timeout)
        if len(calls) < 3:
            raise OSError("connection refused")

    records = deliver(flaky, RetryPolicy(attempts=4, backoff=0.5, timeout=2), sleep=sleeps.append)
    assert [r.ok for r in records] == [False, False, True]
    assert sleeps == [0.5, 1.0] and calls == [2, 2, 2]
    assert "refused" in records[0].error


def _cholera(db_url: str) -> None:
    svc.ingest_records(
        [
            {
                "date": "2024-03-30",
                "region": "210211",
                "source": "notifiable",
                "syndrome": "cholera",
                "count": 1,
            }
        ],
        db=db_url,
        today="2024-04-01",
    )


def test_webhook_and_email_delivered_failures_retried_recorded_and_never_block(
    db_url, smtp_servers, monkeypatch
):
    (good_box, good_smtp), (_, bad_smtp) = smtp_servers
    Receiver.bodies = []

    class Slow(Receiver):
        # its own list: the slow hook answers (and records) after the client gave up, possibly
        # while a later test reads Receiver.bodies
        bodies: ClassVar[list[dict]] = []
        delay = 15.0

    ok_server, ok_url = serve(Receiver)
    slow_server, slow_url = serve(Slow)
    refused_url = f"http://127.0.0.1:{closed_port()}/hook"
    _cholera(db_url)
    with session_scope(db_url) as s:
        for name, channel, address in (
            ("ok-hook", "webhook", ok_url),
            ("slow-hook", "webhook", slow_url),
            ("refused-hook", "webhook", refused_url),
            ("cdc", "email", "duty@cdc.example.cn"),
        ):
            svc.add_recipient(
                s,
                name=name,
                channel=channel,
                address=address,
                region="210200",
                min_level="yellow",
                actor=LOCAL_ADMIN,
            )
        # Shenyang's recipient is not told about a Dalian alert
        svc.add_recipient(
            s,
            name="shenyang",
            channel="webhook",
            address=ok_url,
            region="210100",
            actor=LOCAL_ADMIN,
        )
    monkeypatch.setenv("HEALTHWATCH_SMTP", good_smtp)
    policy = RetryPolicy(attempts=2, backoff=0.05, timeout=3.0)
    result = svc.run_day("2024-03-30", db=db_url, policy=policy)
    thread = result["_delivery"]
    assert result["notifications_queued"] == 4
    # the run has committed and returned while the slow hook (two 3 s tries) is still pending
    with session_scope(db_url) as s:
        pending = {n["address"]: n["status"] for n in svc.notifications(s)}
    assert pending[slow_url] == "pending" and thread.is_alive()
    thread.join(60)
    assert not thread.is_alive()
    with session_scope(db_url) as s:
        rows = {n["address"]: n for n in svc.notifications(s)}
    assert rows[ok_url]["status"] == "sent" and rows[ok_url]["attempts"] == 1
    assert rows["duty@cdc.example.cn"]["status"] == "sent"
    for url in (slow_url, refused_url):
        assert rows[url]["status"] == "failed" and rows[url]["attempts"] == 2
    assert "timed out" in rows[slow_url]["last_error"].lower()
    assert "refused" in rows[refused_url]["last_error"].lower()
    (body,) = Receiver.bodies
    assert (body["syndrome"], body["region"], body["level"]) == ("cholera", "210211", "red")
    (raw,) = good_box.messages
    subject = str(make_header(decode_header(message_from_bytes(raw)["Subject"])))
    assert "霍乱" in subject and "red" in subject
    ok_server.shutdown()
    slow_server.shutdown()

    policy = RetryPolicy(attempts=2, backoff=0.05, timeout=0.5)
    # an SMTP server that refuses: retried, recorded as failed; --retry-failed queues it again
    monkeypatch.setenv("HEALTHWATCH_SMTP", bad_smtp)
    with session_scope(db_url) as s:
        assert svc.retry_failed(s, actor=LOCAL_ADMIN) == 2
    with session_scope(db_url) as s:
        svc.add_recipient(
            s,
            name="cdc2",
            channel="email",
            address="b@cdc.example.cn",
            region="210000",
            actor=LOCAL_ADMIN,
        )
    outcome = svc.deliver_pending(db_url, policy=policy)
    assert outcome == {"sent": 0, "failed": 2}  # the two failed hooks again; cdc2 joined later
    with session_scope(db_url) as s:
        rows = {n["address"]: n for n in svc.notifications(s)}
        assert rows[refused_url]["attempts"] == 4
        detail = svc.alert_detail(s, body["alert"])
        assert {n["status"] for n in detail["notifications"]} == {"sent", "failed"}
    # the refusing SMTP server: a new alert for cdc2
    svc.ingest_records(
        [
            {
                "date": "2024-03-31",
                "region": "210102",
                "source": "notifiable",
                "syndrome": "plague",
                "count": 1,
            }
        ],
        db=db_url,
        today="2024-04-01",
    )
    result = svc.run_day("2024-03-31", db=db_url, policy=policy, notify=False)
    assert result["notifications_queued"] == 2  # Shenyang's hook (now shut down) and cdc2
    assert svc.deliver_pending(db_url, policy=policy) == {"sent": 0, "failed": 2}
    with session_scope(db_url) as s:
        rows = {n["address"]: n for n in svc.notifications(s)}
    assert "refused" in rows["b@cdc.example.cn"]["last_error"]
