"""Small, fast helpers for raw ASGI messages, shared by every HTTP adapter: request ids, bodies, media types, queries, cookies, sending bytes."""

from __future__ import annotations

import itertools
import secrets
from typing import Any
from urllib.parse import parse_qs

import orjson

from ..errors import PayloadTooLarge
from ..types import Message, Receive, Send

JSON = b"application/json"


# Request ids: a random per-process prefix and a counter (unique, cheap; not secrets),
# produced by C-level iterators (no Python frame, no format-spec parsing per id).
_RID_PREFIX = secrets.token_hex(4) + "-"
_next_id = map(_RID_PREFIX.__add__, map(str, itertools.count(1))).__next__


def request_id(header: bytes | None) -> str:
    """The caller's ``X-Request-ID`` (at most 200 characters), else a new unique id."""
    if header:
        return header.decode("latin-1")[:200]
    return _next_id()


def media_type(content_type: bytes) -> bytes:
    """A ``Content-Type`` value's media type, lower case (media types are case-insensitive,
    RFC 9110 §8.3.1), without its parameters.

    >>> media_type(b"Application/JSON; charset=utf-8")
    b'application/json'
    """
    return content_type.split(b";", 1)[0].strip().lower()


def is_json(content_type: bytes) -> bool:
    """Whether a ``Content-Type`` value is JSON (``application/json`` or ``*/*+json``, any case).

    >>> is_json(b"APPLICATION/JSON; charset=utf-8"), is_json(b"application/merge-patch+json"), is_json(b"text/plain")
    (True, True, False)
    """
    media = media_type(content_type)
    return media == JSON or media.endswith(b"+json")


class ClientDisconnected(Exception):
    pass


BODY_LIMIT = 10 * 1024 * 1024
"""The largest request body read (413 beyond)."""


async def read_body(receive: Receive, limit: int = BODY_LIMIT, first: Message | None = None) -> bytes:
    """The whole request body; ``first`` is a message already received."""
    message = first if first is not None else await receive()
    if message["type"] == "http.disconnect":
        raise ClientDisconnected()
    body: bytes = message.get("body", b"")
    if len(body) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def parse_query(raw: bytes) -> dict[str, list[str]]:
    if not raw:
        return {}
    return parse_qs(raw.decode("latin-1"), keep_blank_values=True)


async def send_bytes(
    send: Send, status: int, body: bytes, content_type: bytes = JSON, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    raw = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if headers:
        raw.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
