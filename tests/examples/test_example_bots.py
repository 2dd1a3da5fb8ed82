"""The example bots of examples/ run as a bot developer would run them, against a live portal.

live_server serves the portal and the sandbox HubSpot; the example is a real subprocess given only
what its README asks for (base URL, API key, whsec_ secret). The agent acts through the sandbox
console's actions. The bot must verify every callback with its off-the-shelf library, answer the
agent, close the escalation and see the close.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from connections.models import CallbackSignature, Connection
from conversations.models import Escalation, EscalationStatus
from sandbox.console import actions
from sandbox.models import SandboxActor, SandboxThread
from tests.e2e import flow
from tests.services import is_ci

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class BotProcess:
    """The example's stdout, one JSON object per line, collected on a thread."""

    def __init__(self, command: list[str], cwd: Path, env: dict):
        self.popen = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    def said(self) -> list[dict]:
        out = []
        for line in list(self.lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # the framework's own log lines
        return out

    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self):
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()


def node_command() -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (Debian: apt-get install nodejs npm): the Node example is not run")
    if not (EXAMPLES / "node" / "node_modules" / "standardwebhooks").is_dir():
        npm = shutil.which("npm")
        problem = "npm is not installed" if npm is None else None
        if npm:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=EXAMPLES / "node",
                capture_output=True,
                text=True,
                timeout=180,
            )
            problem = None if done.returncode == 0 else f"npm ci failed: {done.stderr[-500:]}"
        if problem:
            if is_ci():
                pytest.fail(problem)
            pytest.skip(problem)
    return [node, "bot.js"]


EXAMPLE_COMMANDS = {
    "python": (lambda: [sys.executable, "bot.py"], EXAMPLES / "python"),
    "node": (node_command, EXAMPLES / "node"),
}


@pytest.mark.parametrize("language", ["python", "node"])
def test_example_bot_escalates_verifies_replies_and_closes(live_server, provisioned, language):
    command, cwd = EXAMPLE_COMMANDS[language]
    command = command()
    connection = Connection.objects.get(pk=provisioned["connection_id"])
    connection.callback_signature = CallbackSignature.STANDARD
    connection.save(update_fields=["callback_signature"])
    env = {
        **os.environ,
        "HITL_BASE_URL": live_server.url,
        "HITL_API_KEY": provisioned["bot_api_key"],
        "HITL_WEBHOOK_SECRET": provisioned["callback_secret"],
        "BOT_PORT": "0",
        "BOT_CONVERSATION_ID": f"example-{language}",
        "BOT_EXIT_AFTER_CLOSE": "1",
    }
    bot = BotProcess(command, cwd, env)
    try:

        def said(key, value=None):
            return [line for line in bot.said() if key in line and (value is None or line[key] == value)]

        def wait(what, check):
            if bot.popen.poll() not in (None, 0):
                raise AssertionError(f"the bot exited:\n{bot.output()}")
            return flow.wait_for(f"{what}; bot said:\n{bot.output()}", check, timeout=60)

        (started,) = wait("the escalation to start", lambda: said("started"))
        escalation = Escalation.objects.get(pk=started["started"])
        thread = wait("the thread in HubSpot", lambda: SandboxThread.objects.first())
        wait("escalation.opened verified", lambda: said("verified", "escalation.opened"))

        agent = SandboxActor.objects.get(portal=thread.portal, actor_id=flow.AGENT_ID)
        assert actions.assign(thread, agent)
        wait("escalation.assigned verified", lambda: said("verified", "escalation.assigned"))
        actions.reply(thread, agent, text="Hello, I can help. What happened?", token=f"ex-{language}")
        wait("the bot's reply and close", lambda: said("closed"))
        wait("escalation.closed verified", lambda: said("verified", "escalation.closed"))
        deadline = time.monotonic() + 10
        while bot.popen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert bot.popen.returncode == 0, bot.output()
    finally:
        bot.stop()

    verified = [line["verified"] for line in said("verified")]
    assert verified == [
        "escalation.opened",
        "escalation.assigned",
        "escalation.message",
        "escalation.closed",
    ], bot.output()
    assert [line["sequence"] for line in said("verified")] == [1, 2, 3, 4]
    assert said("replied")[0]["replied"] in (200, 202)
    assert said("closed")[0]["status"] == "closed"
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.CLOSED
    texts = [m.text for m in flow.messages_of(thread)]
    assert any(t.endswith("Thank you, that solves it!") for t in texts), texts
