"""Notifications: a pipeline's webhook gets a JSON POST when a run fails, when it stops at *awaiting
approval*, and when it is promoted.

The body (``Content-Type: application/json``)::

    {"event": "failed" | "awaiting_approval" | "promoted", "pipeline": "shop", "env": "staging",
     "runId": "0193…", "message": "…", "failedChecks": ["orders: unique(order_id) (2 failing rows)"],
     "tables": ["orders", …], "approve": "threadline pipeline approve 0193…", "time": "2026-…Z"}

(``failedChecks`` on ``failed`` only, ``approve`` on ``awaiting_approval`` only.) A webhook that is
down or answers an error never fails the run: the POST is tried :data:`ATTEMPTS` times with a short
backoff, then a warning is logged and the run goes on.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from threadline.pipeline.config import Webhook
from threadline.vocabulary import iso_time

log = logging.getLogger(__name__)

#: How many times a notification is tried, the pause before the second try (doubled after), and
#: how long one try may take.
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
TIMEOUT_SECONDS = 5.0
#: The notification events.
EVENTS = ("failed", "awaiting_approval", "promoted")


def notification(
    event: str, pipeline: str, env: str, run_id: str | None, message: str, **extra: Any
) -> dict[str, Any]:
    """The JSON body of a notification (see the module docstring)."""
    if event not in EVENTS:
        msg = f"unknown notification {event!r}"
        raise ValueError(msg)
    body: dict[str, Any] = {
        "event": event,
        "pipeline": pipeline,
        "env": env,
        "runId": run_id,
        "message": message,
        "time": iso_time(int(time.time() * 1_000_000)),
    }
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def send(webhook: Webhook | None, body: dict[str, Any], *, attempts: int = ATTEMPTS) -> bool:
    """POST ``body`` to the webhook; whether it was taken (2xx). Never raises: a failure is logged."""
    delivery = deliver(webhook, body, attempts=attempts)
    return delivery is not None and delivery["status"] == "delivered"


def deliver(
    webhook: Webhook | None, body: dict[str, Any], *, attempts: int = ATTEMPTS
) -> dict[str, Any] | None:
    """POST ``body`` to the webhook and say how it went (``None`` without a webhook): ``event``,
    ``url`` (without its query, which may hold a token; absent when the webhook's variable is unset),
    ``status`` (``delivered``, ``failed``, or ``not sent`` when the webhook's variable is unset),
    ``attempts``, ``problem`` (absent when delivered) and ``time``. Never raises: a failure is
    logged. The record is kept as a run parameter, where a missing value would read ``"None"``, so a
    value that is not known is left out."""
    if webhook is None:
        return None
    record: dict[str, Any] = {
        "event": body.get("event"),
        "status": "not sent",
        "attempts": 0,
        "time": iso_time(int(time.time() * 1_000_000)),
    }
    url = webhook.resolve()
    if url is None:
        log.info(
            "threadline: the pipeline's webhook variable %s is not set; the %s notification is not sent",
            webhook.from_env,
            body.get("event"),
        )
        record["problem"] = f"the variable {webhook.from_env} is not set"
        return record
    shown = url.split("?", 1)[0]
    record["url"] = shown
    data = json.dumps(body).encode()
    problem = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        record["attempts"] = attempt + 1
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "threadline-pipeline"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                if 200 <= response.status < 300:
                    record["status"] = "delivered"
                    return record
                problem = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code}"
            if 400 <= exc.code < 500 and exc.code != 429:
                break  # the webhook refuses this body: trying again will not help
        except (OSError, ValueError) as exc:
            problem = str(getattr(exc, "reason", None) or exc)
    log.warning(
        "threadline: the pipeline's webhook %s did not take the %s notification (%s); the run goes on",
        shown,
        body.get("event"),
        problem,
    )
    record.update(status="failed", problem=problem)
    return record
