"""Sending one alert notification by webhook (HTTP POST of JSON) or e-mail (SMTP), with retries.

Why here and bounded: a notification must never hold up the daily run, and a receiver that hangs
or refuses must not be tried forever. Each try has a timeout; failures are retried with
exponential backoff (``backoff * 2**k`` seconds) up to ``attempts`` times, and every try is
returned as a record (time, success, error, seconds) for the delivery log. The caller (the
warning service) runs deliveries in a background thread after the run has committed.

Messages carry the alert only (county, syndrome, level, dates, evidence counts): alerts hold no
personal data, so none can leak through a notification.
"""

from __future__ import annotations

import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

__all__ = ["Attempt", "RetryPolicy", "deliver", "send_email", "send_webhook"]


@dataclass(frozen=True)
class RetryPolicy:
    """Tries per notification, seconds before the second try (doubling), timeout per try."""

    attempts: int = 3
    backoff: float = 0.5
    timeout: float = 5.0


@dataclass(frozen=True)
class Attempt:
    attempt: int
    ok: bool
    error: str
    seconds: float


def send_webhook(url: str, payload: Mapping[str, Any], timeout: float) -> None:
    """POST ``payload`` as JSON; any status other than 2xx is a failure."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"HTTP {response.status}")


def send_email(
    address: str,
    subject: str,
    text: str,
    *,
    server: str,
    sender: str,
    timeout: float,
) -> None:
    """Send a plain-text UTF-8 message through the SMTP server ``host:port``."""
    host, _, port = server.rpartition(":")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = address
    message["Subject"] = subject
    message.set_content(text)
    with smtplib.SMTP(host or server, int(port or 25), timeout=timeout) as smtp:
        smtp.send_message(message)


def deliver(
    send: Callable[[float], None],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Attempt]:
    """Call ``send(timeout)`` until it succeeds or ``policy.attempts`` tries failed."""
    records: list[Attempt] = []
    for k in range(policy.attempts):
        start = time.monotonic()
        try:
            send(policy.timeout)
        except (OSError, smtplib.SMTPException, urllib.error.URLError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            records.append(Attempt(k + 1, False, error, time.monotonic() - start))
            if k + 1 < policy.attempts:
                sleep(policy.backoff * 2**k)
            continue
        records.append(Attempt(k + 1, True, "", time.monotonic() - start))
        break
    return records
