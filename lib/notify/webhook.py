"""Delivery of outbox events to a chat webhook as one JSON body that Slack, Discord and Telegram each accept.

Slack's incoming webhooks read `text`, Discord's `content` (https://discord.com/developers/docs/resources/webhook,
Execute Webhook) and Telegram's sendMessage `chat_id` and `text` (https://core.telegram.org/bots/api#sendmessage);
each ignores the others' fields. Config (`config/common` or `config/{mode}`):

    notifications:
      webhookUrl: https://hooks.slack.com/services/...   (no webhook: nothing is sent)
      kinds: [risk.alert, run.failed, ...]                 (default: `messages.DEFAULT_KINDS`)
      telegramChatId: "-100123"                           (for a Telegram bot's sendMessage URL)
      notifyManualRuns: false                              (a failed run started by a person is not messaged)
      maxAgeMinutes: 1440                                  (older events, a backlog, are not messaged)
"""
from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Callable

from lib.config import TradingConfig
from lib.events.outbox import SENT, SKIPPED, Event
from lib.notify import messages

TIMEOUT_S = 5.0
DEFAULT_MAX_AGE_MINUTES = 1440.0


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def payload(message: str, chat_id: str | None) -> dict:
    body = {"text": message, "content": message}
    if chat_id:
        body["chat_id"] = chat_id
    return body


def post_json(url: str, body: dict, timeout_s: float = TIMEOUT_S) -> None:
    """POST `body`; urllib raises on a refused connection, a timeout or an HTTP status of 400 and above."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        response.read()


class WebhookNotifier:
    """Decides whether an event is worth a message and sends it (the OutboxSender's `deliver`).

    Parameters:
        store: the DocumentStore, or a function returning it (config is read at each delivery, so an operator's
            edit applies without a restart).
        mode: the trading mode whose config applies.
        dashboard_url: the service's address for links.
    """

    def __init__(self, store, mode: str, dashboard_url: str, *, post: Callable[[str, dict], None] = post_json,
                 clock: Callable[[], datetime] = _utc_now):
        self._store = store
        self.mode = mode
        self.dashboard_url = dashboard_url
        self.post = post
        self.clock = clock

    def configured(self) -> bool:
        """Whether config names a webhook; until it does, events wait (one configured later gets the recent ones)."""
        return bool(self._config().get("notifications.webhookUrl"))

    def __call__(self, event: Event) -> str:
        config = self._config()
        url = config.require("notifications.webhookUrl")
        if not self.worth_a_message(event, config):
            return SKIPPED
        message = messages.text(event, self.dashboard_url)
        self.post(url, payload(message, config.get("notifications.telegramChatId")))
        return SENT

    def worth_a_message(self, event: Event, config: TradingConfig) -> bool:
        if event.kind not in config.get("notifications.kinds", messages.DEFAULT_KINDS):
            return False
        if event.kind == "run.failed" and not config.get("notifications.notifyManualRuns", False) \
                and event.data.get("trigger", {}).get("kind") != "scheduler":
            return False
        max_age = timedelta(minutes=config.number("notifications.maxAgeMinutes", DEFAULT_MAX_AGE_MINUTES))
        return datetime.fromisoformat(event.at) >= self.clock() - max_age

    def _config(self) -> TradingConfig:
        return TradingConfig.load(self._store() if callable(self._store) else self._store, self.mode)
