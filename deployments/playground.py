"""The Try tab and the chat API: a chat body checked, then relayed to the deployment's frontend.

Bad bodies are refused here, before anything is sent: the frontend never sees them. Answers
come back as the frontend sends them (server-sent events when streamed), read from the
cluster in a thread and handed to asyncio, so an open chat holds no request thread; when the
browser goes away the cluster connection is closed and the frontend stops generating.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from django.conf import settings

from catalog.models import CatalogModel
from deployments import cluster, mirror, selectors
from deployments.dgd import (
    dgd_components,
    dgd_custom_model,
    dgd_model,
    flag,
    served_model_name,
    workers,
)
from deployments.status import deployment_status

logger = logging.getLogger("dynamote.playground")

ROLES = ("system", "user", "assistant")
CONTEXT_FLAGS = ("--max-model-len", "--context-length", "--max-seq-len")
DEPLOYMENT_LABEL = "nvidia.com/dynamo-graph-deployment-name"
EXAMPLE = '{"messages": [{"role": "user", "content": "Hello"}]}'


class ChatInvalid(Exception):
    """A chat body Dynamote refuses before sending it: a message and one per field."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message, self.fields = message, fields or {}


class NotServing(cluster.ClusterError):
    """The deployment is not Ready: its frontend would not answer."""

    status = 409
    title = "Not ready"


class FrontendRefused(cluster.ClusterError):
    """The frontend answered with an error status; `message` carries its own words."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Target:
    """The deployment a chat goes to, as the Try tab and the chat API need it."""

    namespace: str
    name: str
    model: str  # the id clients put in "model"
    context: int | None  # tokens, when known
    ready: bool
    status: str  # Ready, Deploying, Pending, …
    reason: str  # why it is not Ready, when it is not

    def not_ready_message(self) -> str:
        why = f" {self.reason}" if self.reason else ""
        return (
            f"{self.name} is {self.status}, not Ready: its frontend answers once every component "
            f"is serving.{why}"
        )


def target(*, namespace: str, name: str) -> Target:
    """The deployment from the shared cache; selectors.Missing when it is not there."""
    dgd = selectors.dgd_named(namespace=namespace, name=name)
    if dgd is None:
        raise selectors.Missing(selectors.not_found_message(namespace=namespace, name=name))
    pods = [
        pod
        for pod in mirror.pods(namespace).value or []
        if ((pod.get("metadata") or {}).get("labels") or {}).get(DEPLOYMENT_LABEL) == name
    ]
    badge = deployment_status(dgd, pods=pods)
    return Target(
        namespace=namespace,
        name=name,
        model=served_model_name(dgd),
        context=context_length(dgd),
        ready=badge.key == "ready",
        status=badge.label,
        reason=badge.reason,
    )


def context_length(dgd: dict) -> int | None:
    """The longest sequence the workers take: their flag, else the model's own context."""
    components = dgd_components(dgd)
    for component in workers(components):
        value = flag(component["args"], *CONTEXT_FLAGS)
        if value.isdigit():
            return int(value)
    custom = dgd_custom_model(dgd) or {}
    value = custom.get("contextLength") or custom.get("context_length")
    if isinstance(value, int) and value > 0:
        return value
    slug = dgd_model(dgd, components)
    found = CatalogModel.objects.filter(slug=slug).values_list("context_length", flat=True)
    return found.first() if slug else None


# --- checking a body --------------------------------------------------------------------------


def parse_body(raw: bytes) -> dict:
    """The body as a JSON object; ChatInvalid for anything else (nothing is sent)."""
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ChatInvalid(f"The body is not valid JSON ({exc}). Send {EXAMPLE}.") from exc
    if not isinstance(body, dict):
        raise ChatInvalid(
            f"Send an OpenAI chat-completions body: a JSON object with messages, e.g. {EXAMPLE}."
        )
    return body


def check(body: dict, *, context: int | None) -> dict:
    """The body's problems per field, as ChatInvalid; the body itself when it is fine."""
    fields: dict[str, list[str]] = {}
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        fields["messages"] = [f"Give at least one message, e.g. {EXAMPLE}."]
    else:
        for index, message in enumerate(messages, start=1):
            if (
                not isinstance(message, dict)
                or message.get("role") not in ROLES
                or not isinstance(message.get("content"), str)
            ):
                fields.setdefault("messages", []).append(
                    f"Message {index} needs a role (system, user or assistant) and text content."
                )
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            fields[key] = ["Give a whole number of tokens, 1 or more."]
        elif context is not None and value > context:
            fields[key] = [
                f"At most {context:,} tokens: the model's context is {context:,} tokens, "
                "for the messages and the answer together."
            ]
    temperature = body.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not 0 <= temperature <= 2
    ):
        fields["temperature"] = ["Give a temperature between 0 and 2."]
    if "stream" in body and not isinstance(body["stream"], bool):
        fields["stream"] = ["Give true or false."]
    if "model" in body and not isinstance(body["model"], str):
        fields["model"] = ["Give the served model name as a string."]
    if fields:
        raise ChatInvalid("The chat request is not valid; see the fields.", fields)
    return body


def prepare(body: dict, chat_target: Target) -> dict:
    """The body to send: the deployment's model unless one is named, usage when streamed."""
    sent = {**body}
    sent.setdefault("model", chat_target.model)
    if sent.get("stream"):
        options = sent.get("stream_options")
        sent["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    return sent


# --- talking to the frontend ------------------------------------------------------------------


def models(*, namespace: str, name: str) -> list[str]:
    """The model ids the frontend lists at /v1/models."""
    answer = cluster.frontend_request(namespace=namespace, name=name, path="/v1/models")
    raw = answer.read()
    if answer.status >= 400:
        raise refused(answer.status, raw)
    try:
        data = json.loads(raw).get("data") or []
    except (ValueError, AttributeError):
        data = []
    return [str(item.get("id")) for item in data if isinstance(item, dict) and item.get("id")]


def open_chat(*, chat_target: Target, body: dict) -> cluster.ProxyAnswer:
    """Sends the chat; the answer unread (an error status already turned into FrontendRefused)."""
    if not chat_target.ready:
        raise NotServing(chat_target.not_ready_message())
    answer = cluster.frontend_request(
        namespace=chat_target.namespace,
        name=chat_target.name,
        path="/v1/chat/completions",
        method="POST",
        body=body,
        read_timeout=settings.DYNAMOTE_CHAT_TIMEOUT,
    )
    if answer.status >= 400:
        raise refused(answer.status, answer.read())
    return answer


def refused(status: int, raw: bytes) -> FrontendRefused:
    """The frontend's error answer, in its own words, with what to do."""
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict):
            error = error.get("message")
        text = str(error or parsed.get("message") or parsed.get("detail") or text)
    text = text[:500] or f"HTTP {status}"
    if status in (400, 422):
        return FrontendRefused(f"The model refused the request: {text}", 400)
    if status == 404:
        return FrontendRefused(
            f"The frontend has no such model ({text}). Its workers may still be registering; "
            "check the model name in /v1/models.",
            502,
        )
    return FrontendRefused(f"The frontend answered HTTP {status}: {text}", 502)


async def relay(answer: cluster.ProxyAnswer) -> AsyncIterator[bytes]:
    """The answer's chunks as they come, read in a thread; hangs up when the client goes away.

    A failure mid-answer (a timeout, a cut connection) ends the stream with an SSE `error`
    event that says what happened.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    done = threading.Event()

    def put(item) -> None:
        if not done.is_set():
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def pump() -> None:
        try:
            for chunk in answer.chunks():
                if done.is_set():
                    return
                put(chunk)
        except Exception as exc:  # a read that failed: say why, in the stream
            put(exc)
        finally:
            put(None)

    threading.Thread(target=pump, daemon=True, name="dynamote-chat-relay").start()
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, Exception):
                yield error_event(stream_failure(item))
                return
            yield item
    finally:
        done.set()
        await asyncio.to_thread(answer.close)


def relay_sync(answer: cluster.ProxyAnswer) -> Iterator[bytes]:
    """`relay` for a WSGI server (gunicorn's threads): its thread reads the cluster itself."""
    try:
        yield from answer.chunks()
    except Exception as exc:  # a read that failed: say why, in the stream
        yield error_event(stream_failure(exc))
    finally:
        answer.close()


def stream_failure(exc: Exception) -> str:
    if "timed out" in str(exc).lower():
        return (
            f"The frontend stopped sending for {settings.DYNAMOTE_CHAT_TIMEOUT} s; the answer "
            "is cut short. The model may be overloaded: try again."
        )
    return f"The connection to the frontend was cut mid-answer ({exc}). Try again."


def error_event(message: str) -> bytes:
    """A server-sent event the Try tab shows as an error."""
    return b"event: error\ndata: " + json.dumps({"error": message}).encode() + b"\n\n"


def chat_body(*, message: str, system: str, temperature: float, max_tokens: int) -> dict:
    """The body the Try tab sends for its fields (the curl shows the same)."""
    messages = [{"role": "system", "content": system}] if system.strip() else []
    messages.append({"role": "user", "content": message})
    return {
        "messages": messages,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "stream": True,
    }
