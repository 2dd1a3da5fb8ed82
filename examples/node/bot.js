// A minimal bot for the HITL portal in Node (plain `http`, no framework): escalate, verify
// callbacks, answer the agent, close.
//
//   npm ci
//   HITL_BASE_URL=http://127.0.0.1:8000 HITL_API_KEY=hitl_... HITL_WEBHOOK_SECRET=whsec_... node bot.js
//
// The connection must sign callbacks with "Standard Webhooks" (its admin page): the `standardwebhooks`
// package checks each signature. The bot listens on BOT_HOST:BOT_PORT (127.0.0.1:5006), starts one
// escalation whose callback URL points there, and when the agent writes, thanks them and closes the
// conversation. Each verified event is printed as one JSON line.
"use strict";

const http = require("node:http");
const { Webhook } = require("standardwebhooks");

const BASE_URL = (process.env.HITL_BASE_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");
const API_KEY = process.env.HITL_API_KEY;
const webhook = new Webhook(process.env.HITL_WEBHOOK_SECRET);
const HOST = process.env.BOT_HOST || "127.0.0.1";
const PORT = Number(process.env.BOT_PORT || 5006);
const USER = {
  name: process.env.BOT_USER_NAME || "Ada Lovelace",
  phone: process.env.BOT_USER_PHONE || "+44 7700 900001",
};
const CONVERSATION_ID = process.env.BOT_CONVERSATION_ID || "example-node-1";
const EXIT_AFTER_CLOSE = process.env.BOT_EXIT_AFTER_CLOSE === "1";
const MAX_BODY = 1024 * 1024;

const seen = new Set(); // event ids already handled: a retry carries the same id
let closing = Promise.resolve(); // our own close call, which the closed event can overtake
const say = (fields) => console.log(JSON.stringify(fields));

async function api(method, path, body) {
  const response = await fetch(`${BASE_URL}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

async function handle(event) {
  say({ verified: event.type, sequence: event.sequence, escalation_id: event.escalation_id });
  const escalation = `/escalations/${event.escalation_id}`;
  if (event.type === "escalation.message") {
    const reply = await api("POST", `${escalation}/messages/`, {
      text: "Thank you, that solves it!",
      client_message_id: `reply-to-${event.id}`,
    });
    say({ replied: reply.status });
    closing = api("POST", `${escalation}/close/`).then((closed) =>
      say({ closed: closed.status, status: closed.json && closed.json.status }),
    );
    await closing;
  } else if (event.type === "escalation.closed" || event.type === "escalation.failed") {
    if (EXIT_AFTER_CLOSE) closing.finally(() => process.exit(0));
  }
}

const server = http.createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/hitl/events") {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  let size = 0;
  req.on("data", (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) req.destroy();
    else chunks.push(chunk);
  });
  req.on("end", () => {
    const raw = Buffer.concat(chunks);
    let event;
    try {
      // Over the raw bytes, before parsing; also rejects a timestamp more than 5 minutes off.
      event = webhook.verify(raw, req.headers);
    } catch (err) {
      res.writeHead(401, { "Content-Type": "application/json" }).end('{"error":"bad signature"}');
      return;
    }
    // Acknowledge first (the portal waits at most 10 s), then do the work.
    res.writeHead(200, { "Content-Type": "application/json" }).end('{"ok":true}');
    if (seen.has(event.id)) return;
    seen.add(event.id);
    handle(event).catch((err) => say({ error: String(err) }));
  });
});

server.listen(PORT, HOST, async () => {
  const { port } = server.address();
  const started = await api("POST", "/escalations/", {
    conversation_id: CONVERSATION_ID,
    user: USER,
    title: "Example bot: the user asks for a person",
    transcript: [{ role: "user", text: "Can I talk to a person, please?" }],
    callback_url: `http://${HOST}:${port}/hitl/events`,
  });
  if (started.status !== 201) {
    console.error(`could not escalate: HTTP ${started.status} ${JSON.stringify(started.json)}`);
    process.exit(1);
  }
  say({ started: started.json.id, status: started.json.status });
});
