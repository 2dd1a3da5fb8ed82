"""A minimal bot for the HITL portal: escalate, verify callbacks, answer the agent, close.

    pip install -r requirements.txt
    HITL_BASE_URL=http://127.0.0.1:8000 HITL_API_KEY=hitl_... HITL_WEBHOOK_SECRET=whsec_... \
        python bot.py

The connection must sign callbacks with "Standard Webhooks" (its admin page): the signature is
checked by the `standardwebhooks` library, not by code of ours. The bot listens on BOT_HOST:BOT_PORT
(127.0.0.1:5005), starts one escalation whose callback URL points there, and when the agent writes,
thanks them and closes the conversation. Each verified event is printed as one JSON line.

Callbacks are acknowledged at once and handled on a worker thread: the portal waits at most 10 s for
the 2xx, and calling the API back from inside the request would hold that up.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading

import requests
from flask import Flask, abort, request
from standardwebhooks import Webhook, WebhookVerificationError
from werkzeug.serving import make_server

BASE_URL = os.environ.get("HITL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
API_KEY = os.environ["HITL_API_KEY"]
WEBHOOK = Webhook(os.environ["HITL_WEBHOOK_SECRET"])
HOST = os.environ.get("BOT_HOST", "127.0.0.1")
PORT = int(os.environ.get("BOT_PORT", "5005"))
USER = {
    "name": os.environ.get("BOT_USER_NAME", "Ada Lovelace"),
    "phone": os.environ.get("BOT_USER_PHONE", "+44 7700 900001"),
}
CONVERSATION_ID = os.environ.get("BOT_CONVERSATION_ID", "example-python-1")
EXIT_AFTER_CLOSE = os.environ.get("BOT_EXIT_AFTER_CLOSE") == "1"

app = Flask(__name__)
api = requests.Session()
api.headers["Authorization"] = f"Bearer {API_KEY}"
work: queue.Queue[dict] = queue.Queue()
seen: set[str] = set()  # event ids already handled: a retry carries the same id
done = threading.Event()


def say(**fields) -> None:
    print(json.dumps(fields), flush=True)


@app.post("/hitl/events")
def callback():
    try:
        # Over the raw bytes, before parsing; also rejects a timestamp more than 5 minutes off.
        event = WEBHOOK.verify(request.get_data(), dict(request.headers))
    except WebhookVerificationError:
        abort(401)
    if event["id"] not in seen:
        seen.add(event["id"])
        work.put(event)
    return {"ok": True}


def handle(event: dict) -> None:
    say(verified=event["type"], sequence=event["sequence"], escalation_id=event["escalation_id"])
    escalation = f"{BASE_URL}/api/v1/escalations/{event['escalation_id']}"
    if event["type"] == "escalation.message":
        reply = {"text": "Thank you, that solves it!", "client_message_id": f"reply-to-{event['id']}"}
        answer = api.post(f"{escalation}/messages/", json=reply, timeout=30)
        say(replied=answer.status_code)
        answer = api.post(f"{escalation}/close/", timeout=30)
        say(closed=answer.status_code, status=answer.json().get("status"))
    elif event["type"] in ("escalation.closed", "escalation.failed"):
        done.set()


def worker() -> None:
    while True:
        event = work.get()
        try:
            handle(event)
        except Exception as exc:  # one bad event must not stop the bot
            say(error=f"{type(exc).__name__}: {exc}")


def start_escalation(callback_url: str) -> dict:
    response = api.post(
        f"{BASE_URL}/api/v1/escalations/",
        json={
            "conversation_id": CONVERSATION_ID,
            "user": USER,
            "title": "Example bot: the user asks for a person",
            "transcript": [{"role": "user", "text": "Can I talk to a person, please?"}],
            "callback_url": callback_url,
        },
        timeout=30,
    )
    if response.status_code != 201:
        sys.exit(f"could not escalate: HTTP {response.status_code} {response.text}")
    return response.json()


def main() -> None:
    server = make_server(HOST, PORT, app, threaded=True)  # listening before the first callback
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Thread(target=worker, daemon=True).start()
    escalation = start_escalation(f"http://{HOST}:{server.server_port}/hitl/events")
    say(started=escalation["id"], status=escalation["status"])
    done.wait() if EXIT_AFTER_CLOSE else threading.Event().wait()
    server.shutdown()


if __name__ == "__main__":
    main()
