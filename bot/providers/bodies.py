"""Upstream answers read with a cap: a broken or hostile server must not make the bot hold an unbounded body.

httpx reads a whole body into memory by default (a 64 MB answer cost +242 MB, again on each failover attempt).
``request_capped`` streams it instead and gives up past ``max_bytes`` with a transient failure, so the next
account is tried. The cap counts decoded bytes: a small gzip bomb is cut off too.
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.providers.base import FailureKind, UpstreamFailure

#: image answers: a 1920×1920 PNG as base64 JSON stays well under this
MAX_IMAGE_ANSWER_BYTES = 24 * 1024 * 1024
#: chat completions, token checks, error pages
MAX_TEXT_ANSWER_BYTES = 2 * 1024 * 1024

# The body is handed on already decoded: these would describe bytes that are no longer there.
_TRANSPORT_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


async def request_capped(
    http: httpx.AsyncClient, method: str, url: str, *, max_bytes: int, **kwargs: Any
) -> httpx.Response:
    """One request whose answer is read whole only if it is at most ``max_bytes``; else ``UpstreamFailure``.

    httpx errors (timeouts, transport) propagate unchanged for the caller to classify.
    """
    async with http.stream(method, url, **kwargs) as streamed:
        content = await _read_capped(streamed, max_bytes)
        headers = [
            (name, value) for name, value in streamed.headers.items() if name not in _TRANSPORT_HEADERS
        ]
        return httpx.Response(
            streamed.status_code, headers=headers, content=content, request=streamed.request
        )


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes and "content-encoding" not in response.headers:
        raise _too_large(response, int(declared), max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(response, size, max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(response: httpx.Response, size: int, max_bytes: int) -> UpstreamFailure:
    return UpstreamFailure(
        FailureKind.TRANSIENT,
        f"HTTP {response.status_code}: answer of at least {size} bytes is over the {max_bytes}-byte cap "
        f"({response.headers.get('content-type', '-')[:60]})",
        status=response.status_code,
        upstream_request_id=response.headers.get("cf-ai-req-id"),
    )
