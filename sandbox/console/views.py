"""Console pages. Reads are GETs; every change is a POST with CSRF followed by a redirect (PRG).

Lists refresh themselves: the page's script re-fetches the same URL with `?partial=1` every few
seconds and swaps in the fragment, so a person sees new visitor messages without reloading.
"""

from __future__ import annotations

import io
import json

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import jobs
from sandbox import webhooks
from sandbox.console import actions, services
from sandbox.console.forms import ActAsForm, AgentForm, AssignForm, BehaviourForm, ReplyForm
from sandbox.models import (
    SandboxBehaviour,
    SandboxFile,
    SandboxInbox,
    SandboxPortal,
    SandboxThread,
    SandboxWebhookDelivery,
)
from sandbox.serializers import file_token


def _partial(request: HttpRequest) -> bool:
    return request.GET.get("partial") == "1"


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _portal_context(request: HttpRequest, portal: SandboxPortal) -> dict:
    agent = services.acting_agent(request.session, portal)
    portal_agents = services.agents(portal)
    return {
        "portal": portal,
        "portals": SandboxPortal.objects.all(),
        "agent": agent,
        "agents": portal_agents,
        "act_as_form": ActAsForm(agents=portal_agents, initial={"agent": agent.actor_id if agent else None}),
    }


# Portals, inboxes, threads ------------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    portals = SandboxPortal.objects.all()
    return render(
        request,
        "sandbox/console/home.html",
        {"cards": services.portal_cards(portals), "nav": "console"},
    )


@require_GET
def inbox(request: HttpRequest, portal_id: int) -> HttpResponse:
    portal = services.get_portal(portal_id)
    inboxes = list(SandboxInbox.objects.filter(portal=portal, archived=False))
    selected = None
    if request.GET.get("inbox", "").isdigit():
        selected = next((i for i in inboxes if i.inbox_id == int(request.GET["inbox"])), None)
    status = request.GET.get("status", "OPEN").upper()
    if status not in services.STATUS_FILTERS:
        status = "OPEN"
    context = {
        "rows": services.thread_rows(portal, inbox=selected, status=status),
        "portal": portal,
        "status": status,
        "selected_inbox": selected,
    }
    if _partial(request):
        return render(request, "sandbox/console/_thread_rows.html", context)
    context |= _portal_context(request, portal) | {
        "inboxes": inboxes,
        "counts": services.status_counts(portal, selected),
        "agent_form": AgentForm(),
        "nav": "console",
    }
    return render(request, "sandbox/console/inbox.html", context)


@require_GET
def thread(request: HttpRequest, portal_id: int, thread_id: int) -> HttpResponse:
    portal = services.get_portal(portal_id)
    conversation = services.get_thread(portal, thread_id)
    context = {"thread": conversation, "items": services.message_items(conversation), "portal": portal}
    if _partial(request):
        return render(request, "sandbox/console/_messages.html", context)
    context |= _portal_context(request, portal)
    visitor, identifier = services.visitor_label(conversation)
    names = services.actor_names(portal)
    context |= {
        "visitor": visitor,
        "identifier": identifier,
        "assignee": names.get(conversation.assigned_to, conversation.assigned_to),
        "assign_form": AssignForm(
            agents=context["agents"],
            initial={
                "agent": conversation.assigned_to or (context["agent"].actor_id if context["agent"] else None)
            },
        ),
        "reply_form": ReplyForm(),
        "nav": "console",
        **_portal_side(conversation),
    }
    return render(request, "sandbox/console/thread.html", context)


def _portal_side(conversation) -> dict:
    """For the demo: the escalation behind the thread (its title), and links to the admin's page
    and to the sandbox chat page playing its end user. HubSpot knows none of this."""
    from django.urls import NoReverseMatch, reverse

    from conversations.models import Escalation
    from sandbox.models.demo_bot import DemoChat

    esc = Escalation.objects.filter(hubspot_thread_id=str(conversation.pk)).only("pk", "title").first()
    if esc is None:
        return {}
    chat = DemoChat.objects.filter(escalation_id=str(esc.pk)).only("pk").first()
    try:
        chat_url = reverse("sandbox:app:chat:chat", args=[chat.pk]) if chat else ""
    except NoReverseMatch:
        chat_url = ""
    return {
        "escalation_title": esc.title,
        "escalation_admin_url": reverse("admin:conversations_escalation_change", args=[esc.pk]),
        "chat_url": chat_url,
    }


@require_POST
def act_as(request: HttpRequest, portal_id: int) -> HttpResponse:
    portal = services.get_portal(portal_id)
    form = ActAsForm(request.POST, agents=services.agents(portal))
    if form.is_valid():
        services.set_acting_agent(request.session, portal, form.cleaned_data["agent"])
        messages.success(request, f"You are now acting as {form.cleaned_data['agent']}.")
    return redirect(_back(request, reverse("sandbox:app:console:inbox", args=[portal_id])))


@require_POST
def agent_create(request: HttpRequest, portal_id: int) -> HttpResponse:
    portal = services.get_portal(portal_id)
    form = AgentForm(request.POST)
    if form.is_valid():
        agent = actions.add_agent(portal, **form.cleaned_data)
        services.set_acting_agent(request.session, portal, agent)
        messages.success(request, f"Added agent {agent} and switched to it.")
    else:
        messages.error(request, "An agent needs a name and a valid email address.")
    return redirect(_back(request, reverse("sandbox:app:console:inbox", args=[portal_id])))


def _thread_action(request: HttpRequest, portal_id: int, thread_id: int):
    portal = services.get_portal(portal_id)
    conversation = services.get_thread(portal, thread_id)
    agent = services.acting_agent(request.session, portal)
    url = reverse("sandbox:app:console:thread", args=[portal_id, thread_id])
    return portal, conversation, agent, url


@require_POST
def thread_assign(request: HttpRequest, portal_id: int, thread_id: int) -> HttpResponse:
    portal, conversation, _, url = _thread_action(request, portal_id, thread_id)
    form = AssignForm(request.POST, agents=services.agents(portal))
    if not form.is_valid():
        messages.error(request, "Pick an agent of this portal.")
    elif actions.assign(conversation, form.cleaned_data["agent"]):
        messages.success(request, f"Assigned to {form.cleaned_data['agent']}.")
    else:
        messages.info(request, "The conversation was already assigned to that agent.")
    return redirect(url)


@require_POST
def thread_reply(request: HttpRequest, portal_id: int, thread_id: int) -> HttpResponse:
    _, conversation, agent, url = _thread_action(request, portal_id, thread_id)
    form = ReplyForm(request.POST, request.FILES)
    if agent is None:
        messages.error(request, "This portal has no agent to reply as; add one first.")
    elif not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()) or "The reply could not be sent.")
    else:
        try:
            actions.reply(
                conversation,
                agent,
                text=form.cleaned_data["text"],
                upload=form.cleaned_data.get("attachment"),
                token=form.cleaned_data.get("token", ""),
            )
        except actions.ActionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Reply sent.")
    return redirect(url)


def _set_status(request, portal_id, thread_id, status: str, done: str) -> HttpResponse:
    _, conversation, agent, url = _thread_action(request, portal_id, thread_id)
    if actions.set_status(conversation, status, agent):
        messages.success(request, done)
    else:
        messages.info(request, f"The conversation was already {status.lower()}.")
    return redirect(url)


@require_POST
def thread_close(request: HttpRequest, portal_id: int, thread_id: int) -> HttpResponse:
    return _set_status(request, portal_id, thread_id, SandboxThread.Status.CLOSED, "Conversation closed.")


@require_POST
def thread_reopen(request: HttpRequest, portal_id: int, thread_id: int) -> HttpResponse:
    return _set_status(request, portal_id, thread_id, SandboxThread.Status.OPEN, "Conversation reopened.")


@require_GET
def file_download(request: HttpRequest, file_id: int, token: str) -> HttpResponse:
    file = SandboxFile.objects.filter(pk=file_id).first()
    if file is None or not constant_time_compare(token, file_token(file)):
        raise Http404("No such file")
    content_type = file.content_type or "application/octet-stream"
    # Uploaded bytes are untrusted: only images render inline, everything else downloads.
    inline = content_type.startswith("image/") and content_type != "image/svg+xml"
    response = FileResponse(
        io.BytesIO(bytes(file.content)),
        content_type=content_type,
        as_attachment=not inline,
        filename=file.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Length"] = str(file.size)
    return response


# Realism switches and deliveries ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def behaviour(request: HttpRequest) -> HttpResponse:
    current = SandboxBehaviour.current()
    form = BehaviourForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Sandbox behaviour saved; it applies to the next request.")
        return redirect("sandbox:app:console:behaviour")
    return render(request, "sandbox/console/behaviour.html", {"form": form, "nav": "behaviour"})


DELIVERY_FILTERS = ("all", "pending", "delivered", "failed")


@require_GET
def deliveries(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "all")
    if status not in DELIVERY_FILTERS:
        status = "all"
    rows = SandboxWebhookDelivery.objects.select_related("app").order_by("-id")
    if status != "all":
        rows = rows.filter(status=status)
    rows = list(rows[:100])
    for row in rows:
        row.summary = webhooks.event_summary(row)
        row.pretty = json.dumps(row.body, indent=2, ensure_ascii=False)
        row.created_ago = services.ago(row.created_at)
        row.delivered_ago = services.ago(row.delivered_at)
        row.next_in = services.until(row.next_attempt_at)
    context = {
        "rows": rows,
        "status": status,
        # Where row buttons come back to: the page, never the ?partial=1 fragment they arrive in.
        "back": f"{request.path}?status={status}",
        "max_attempts": SandboxBehaviour.current().webhook_max_attempts,
    }
    if _partial(request):
        return render(request, "sandbox/console/_delivery_rows.html", context)
    context |= {"filters": DELIVERY_FILTERS, "due": len(webhooks.due_delivery_ids()), "nav": "deliveries"}
    return render(request, "sandbox/console/deliveries.html", context)


@require_POST
def delivery_retry(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = SandboxWebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery")
    attempts_before = delivery.attempts
    # Through the task, like every send: eager here, on the worker when one runs.
    jobs.enqueue(jobs.DELIVER_SANDBOX_WEBHOOK, delivery.pk, True, what=f"sandbox webhook {delivery.pk}")
    delivery.refresh_from_db()
    if delivery.attempts == attempts_before:
        messages.info(request, f"Delivery #{delivery.pk} queued.")
    elif delivery.status == SandboxWebhookDelivery.Status.DELIVERED:
        messages.success(request, f"Delivery #{delivery.pk} sent: HTTP {delivery.last_status_code}.")
    else:
        messages.error(request, f"Delivery #{delivery.pk} failed again: {delivery.last_error}")
    return redirect(_back(request, reverse("sandbox:app:console:deliveries")))


@require_POST
def deliveries_send_due(request: HttpRequest) -> HttpResponse:
    attempts = [a for a in webhooks.send_due() if a.sent]
    delivered = sum(a.ok for a in attempts)
    messages.info(request, f"Sent {len(attempts)} due deliveries; {delivered} delivered.")
    return redirect(_back(request, reverse("sandbox:app:console:deliveries")))
