"""ASGI middleware of the HTTP side: a request-body cap (413) and CORS for the API routes only."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.adapters.http.errors import ApiError

#: how much of a refused body is read and dropped so the client gets to see the 413
_DISCARD_LIMIT_BYTES = 256 * 1024 * 1024


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with an OpenAI-shaped 413, before the app parses them."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            # The server (h11/httptools) holds the client to its declared length, so this is the whole check.
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # A chunked body has no length up front: read it here, within the cap, and hand it on whole.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Clients read the answer only after sending the whole body: read (and drop) the rest first, up to a
        # bound, so they see the 413 rather than a connection reset.
        discarded = 0
        while discarded <= _DISCARD_LIMIT_BYTES:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
            discarded += len(message.get("body", b""))
        limit_mb = self.max_bytes / 1024 / 1024
        error = ApiError(
            413,
            f"The request body is larger than this server accepts ({limit_mb:.0f} MB).",
            code="request_too_large",
        )
        await error.response()(scope, receive, send)


class ApiCORS:
    """CORS on the paths browser chat clients call with a Bearer key (no cookies), and nowhere else."""

    def __init__(self, app: ASGIApp, *, origins: Sequence[str], prefixes: Sequence[str]) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
