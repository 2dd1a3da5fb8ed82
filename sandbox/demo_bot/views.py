"""The chat page (/sandbox/app/chat/). Changes are POSTs followed by a redirect; the page's script
posts the same forms with fetch (and gets JSON back) so the chat never reloads, and polls
`state/` every 2 s for what the bot received.

No view holds a database transaction while it calls the bot API: under `make run` the API's work
(publishing to the sandbox, webhooks, callbacks to this page) happens in other requests of this
same server, which must be able to write meanwhile.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from sandbox.demo_bot import inbox, services, setup
from sandbox.demo_bot.forms import EscalateForm, MessageForm
from sandbox.models.demo_bot import DemoChat

ACTIVE = ("requested", "open", "assigned")


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _done(request: HttpRequest, chat: DemoChat, error: str = "", status: int = 200) -> HttpResponse:
    """Answer a chat action: JSON for the page's script, otherwise a redirect with a flash message."""
    if _wants_json(request):
        return JsonResponse({"ok": not error, "error": error}, status=status if error else 200)
    if error:
        messages.error(request, error)
    return redirect("sandbox:app:chat:chat", chat_id=chat.pk)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    bot = setup.current()
    return render(
        request,
        "sandbox/chat/home.html",
        {"bot": bot, "form": EscalateForm() if bot else None, "chats": DemoChat.objects.all()[:10]},
    )


@require_POST
def set_up(request: HttpRequest) -> HttpResponse:
    try:
        bot = setup.ensure()
    except setup.SetupError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The demo bot is ready (bot API key {bot.api_key_prefix}…).")
    return redirect("sandbox:app:chat:home")


@require_POST
def start(request: HttpRequest) -> HttpResponse:
    bot = setup.current()
    if bot is None:
        messages.error(request, "Set up the demo bot first.")
        return redirect("sandbox:app:chat:home")
    form = EscalateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            chat = services.start(
                bot,
                user=form.user(),
                identify_by=data["identify_by"],
                title=data["title"],
                description=data["description"],
                transcript=data["transcript"],
                token=data["token"],
            )
        except services.ApiError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("sandbox:app:chat:chat", chat_id=chat.pk)
    chats = DemoChat.objects.all()[:10]
    return render(request, "sandbox/chat/home.html", {"bot": bot, "form": form, "chats": chats}, status=400)


@require_GET
def chat(request: HttpRequest, chat_id: uuid.UUID) -> HttpResponse:
    chat = get_object_or_404(DemoChat, pk=chat_id)
    return render(
        request,
        "sandbox/chat/chat.html",
        {
            "chat": chat,
            "bot": setup.current(),
            "form": MessageForm(),
            "token": uuid.uuid4().hex,
            "state_url": reverse("sandbox:app:chat:state", args=[chat.pk]),
            "console_url": reverse("sandbox:app:console:home"),
        },
    )


@require_GET
def state(request: HttpRequest, chat_id: uuid.UUID) -> JsonResponse:
    chat = get_object_or_404(DemoChat, pk=chat_id)
    return JsonResponse(
        {
            "status": chat.status or "requested",
            "active": chat.status in ACTIVE or not chat.status,
            "escalation_id": chat.escalation_id,
            "last_sequence": inbox.last_sequence(chat),
            "lines": inbox.lines(chat),
            "queue": inbox.current_queue(chat),
        }
    )


def _bot_or_error(request, chat):
    bot = setup.current()
    if bot is None:
        return None, _done(request, chat, "The demo bot is not set up (or its key was revoked).", 409)
    return bot, None


@require_POST
def send(request: HttpRequest, chat_id: uuid.UUID) -> HttpResponse:
    chat = get_object_or_404(DemoChat, pk=chat_id)
    bot, failed = _bot_or_error(request, chat)
    if failed:
        return failed
    form = MessageForm(request.POST)
    if not form.is_valid():
        return _done(request, chat, "Type a message first.", 400)
    try:
        services.send(
            bot, chat, form.cleaned_data["text"], token=request.POST.get("token") or uuid.uuid4().hex
        )
    except services.ApiError as exc:
        return _done(request, chat, str(exc), 502 if exc.status is None else exc.status)
    return _done(request, chat)


@require_POST
def close(request: HttpRequest, chat_id: uuid.UUID) -> HttpResponse:
    chat = get_object_or_404(DemoChat, pk=chat_id)
    bot, failed = _bot_or_error(request, chat)
    if failed:
        return failed
    try:
        services.close(bot, chat)
    except services.ApiError as exc:
        return _done(request, chat, str(exc), 502 if exc.status is None else exc.status)
    return _done(request, chat)


@require_POST
def pull(request: HttpRequest, chat_id: uuid.UUID) -> HttpResponse:
    chat = get_object_or_404(DemoChat, pk=chat_id)
    bot, failed = _bot_or_error(request, chat)
    if failed:
        return failed
    try:
        added = services.pull(bot, chat)
    except services.ApiError as exc:
        return _done(request, chat, str(exc), 502 if exc.status is None else exc.status)
    if not _wants_json(request):
        messages.info(request, f"Pulled {added} new event(s).")
    return JsonResponse({"ok": True, "added": added}) if _wants_json(request) else _done(request, chat)
