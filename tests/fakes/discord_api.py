"""A fake Discord (REST + gateway) on 127.0.0.1 that the real discord.py 2.7 talks to.

    async with FakeDiscord() as dc, running_client(dc, client):
        interaction = await dc.slash_command("echo", options={"text": "hi"})
        reply = await dc.wait_for_response(interaction, kind="followup")

Every REST call is recorded in `dc.requests`; calls to routes the fake does not know go to
`dc.unknown_routes` and answer 404, so a test can assert that list is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import io
import json
import math
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import BodyPartReader, hdrs, web

from tests.fakes.discord_gateway import (
    FakeGateway,
    FakeInteraction,
    InteractionDriver,
    Json,
    iso_now,
    user_payload,
)
from tests.fakes.loopback import serve_on_loopback

DEFAULT_TOKEN = "fake-discord-bot-token"
DEFAULT_APP_ID = "1100000000000000001"
EPHEMERAL = 64
LOADING = 128
ResponseKind = Literal["callback", "followup", "edit", "delete"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(data: Any, status: int = 200) -> web.Response:
    """JSON with Content-Type exactly application/json: discord.py ignores bodies with a charset suffix."""
    return web.Response(
        status=status, body=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )


def error_response(status: int, code: int, message: str) -> web.Response:
    """A Discord API error body."""
    return json_response({"message": message, "code": code}, status=status)


@dataclass(frozen=True)
class RecordedFile:
    """A file part the bot uploaded."""

    field: str
    filename: str
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class RecordedRequest:
    """One REST call (the Authorization header is never kept)."""

    method: str
    path: str
    query: dict[str, str]


@dataclass(frozen=True)
class RecordedResponse:
    """What the bot answered to an interaction, as JSON plus uploaded files."""

    kind: ResponseKind
    interaction: FakeInteraction
    payload: Json
    files: list[RecordedFile]
    message: Json | None

    @property
    def body(self) -> Json:
        """The message part: `data` of a callback, the whole payload otherwise."""
        if self.kind == "callback":
            data = self.payload.get("data")
            return data if isinstance(data, dict) else {}
        return self.payload

    @property
    def callback_type(self) -> int | None:
        """Interaction callback type (4 message, 5 deferred, 6/7 component, 9 modal) for callbacks."""
        return self.payload.get("type") if self.kind == "callback" else None

    @property
    def content(self) -> str | None:
        """Message text, if any."""
        return self.body.get("content")

    @property
    def flags(self) -> int:
        """Message flags as sent (64 = ephemeral)."""
        return int(self.body.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """True when the bot asked for an ephemeral message."""
        return bool(self.flags & EPHEMERAL)


@dataclass
class _Fault:
    method: str
    pattern: str
    status: int
    body: Json
    headers: dict[str, str]
    times: int


@dataclass
class _HostedFile:
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class _InteractionState:
    interaction: FakeInteraction
    acknowledged: bool = False
    original: Json | None = None
    followups: dict[str, Json] = field(default_factory=dict)


def _image_size(data: bytes) -> tuple[int, int] | None:
    from PIL import Image  # imported lazily: only uploads of images need it

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return None


def _discord_targets() -> tuple[Any, Any]:
    """discord.py's Route and DiscordWebSocket classes, whose class attributes hold Discord's URLs."""
    with warnings.catch_warnings():
        # discord.py imports the deprecated stdlib audioop for voice; pytest turns that warning into an error.
        warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
        from discord.gateway import DiscordWebSocket
        from discord.http import Route
    return Route, DiscordWebSocket


def _make_recorder(fake: FakeDiscord) -> Any:
    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        fake.requests.append(RecordedRequest(request.method, request.path, dict(request.query)))
        if fake.needs_bot_auth(request.path) and request.headers.get("Authorization") != f"Bot {fake.token}":
            return error_response(401, 0, "401: Unauthorized")
        fault = fake.take_fault(request.method, request.path)
        if fault is not None:
            return web.Response(
                status=fault.status, body=json.dumps(fault.body).encode(), headers=fault.headers
            )
        return await handler(request)

    return record


async def read_message_body(request: web.Request) -> tuple[Json, list[RecordedFile]]:
    """Parse a JSON body or a multipart body (payload_json + files[n])."""
    if request.content_type != "multipart/form-data":
        return (await request.json() if request.can_read_body else {}), []
    payload: Json = {}
    files: list[RecordedFile] = []
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "payload_json":
            payload = json.loads(await part.text())
        else:
            data = bytes(await part.read())
            content_type = part.headers.get(hdrs.CONTENT_TYPE)
            files.append(RecordedFile(part.name or "", part.filename or "", content_type, data))
    return payload, files


class FakeDiscord(InteractionDriver):
    """Discord's REST API and gateway for one bot application, with test-side helpers to drive it."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        app_id: str = DEFAULT_APP_ID,
        bot_name: str = "imagine-bot",
        heartbeat_interval_ms: int = 45_000,
    ) -> None:
        self.token = token
        bot_user = user_payload(app_id, bot_name, bot=True)
        gateway = FakeGateway(
            token=token, bot_user=bot_user, app_id=app_id, heartbeat_interval_ms=heartbeat_interval_ms
        )
        super().__init__(gateway, app_id, bot_user)
        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[str] = []
        self.responses: list[RecordedResponse] = []
        self.downloads: Counter[str] = Counter()
        self._files: dict[str, _HostedFile] = {}
        self._interactions: dict[str, _InteractionState] = {}
        self._changed = asyncio.Condition()
        self._saved_targets: tuple[str, Any] | None = None
        self._runner: web.AppRunner | None = None
        self._faults: list[_Fault] = []
        self.base_url = ""

    # -- lifecycle -------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application(middlewares=[_make_recorder(self)])
        app.add_routes(self._routes())
        self._runner, port = await serve_on_loopback(app)
        self.base_url = f"http://127.0.0.1:{port}"
        self.gateway.url = f"ws://127.0.0.1:{port}/gateway"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.uninstall()
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        """What discord.http.Route.BASE must be set to."""
        return f"{self.base_url}/api/v10"

    def install(self) -> None:
        """Point discord.py's REST base and default gateway at this fake (undone by `uninstall`/exit)."""
        import yarl

        Route, DiscordWebSocket = _discord_targets()
        if self._saved_targets is None:
            self._saved_targets = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        Route.BASE = self.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway.url)

    def uninstall(self) -> None:
        """Restore discord.py's real Discord URLs."""
        if self._saved_targets is None:
            return
        Route, DiscordWebSocket = _discord_targets()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved_targets
        self._saved_targets = None

    async def wait_ready(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 (simple test API)
        """Wait until the client identified on the gateway and got READY."""
        await self.gateway.wait_ready(timeout)

    def needs_bot_auth(self, path: str) -> bool:
        """Webhook, interaction-callback and CDN routes are authorised by their token, not the bot token."""
        public = ("/api/v10/webhooks/", "/api/v10/interactions/", "/attachments/", "/gateway")
        return not path.startswith(public)

    def fail_next(
        self,
        method: str,
        pattern: str,
        status: int,
        body: Json | None = None,
        *,
        times: int = 1,
        retry_after: float = 0.01,
    ) -> None:
        """Answer the next `times` calls matching METHOD and a glob on the path after /api/v10 with an error.

        A 429 gets Discord's body and the `Via` header (without it discord.py treats it as a Cloudflare ban).
        """
        headers = {"Content-Type": "application/json"}
        if status == 429:
            body = body or {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": False,
            }
            headers |= {"Via": "1.1 google", "Retry-After": str(math.ceil(retry_after))}
        body = body or {"message": f"{status}: injected failure", "code": 0}
        self._faults.append(_Fault(method.upper(), "/api/v10" + pattern, status, body, headers, times))

    def take_fault(self, method: str, path: str) -> _Fault | None:
        """The injected failure this request should get, if any (used by the middleware)."""
        for fault in self._faults:
            if fault.method == method and fnmatch.fnmatchcase(path, fault.pattern):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # -- routes ----------------------------------------------------------------------------------------

    def _routes(self) -> list[web.AbstractRouteDef]:
        api = "/api/v10"
        hook = api + "/webhooks/{app}/{token}"
        return [
            web.get(api + "/users/@me", self._get_me),
            web.get(api + "/oauth2/applications/@me", self._get_application),
            web.get(api + "/gateway", self._get_gateway),
            web.get(api + "/gateway/bot", self._get_gateway),
            web.get(api + "/applications/{app}/commands", self._get_commands),
            web.put(api + "/applications/{app}/commands", self._put_commands),
            web.get(api + "/applications/{app}/guilds/{guild}/commands", self._get_commands),
            web.put(api + "/applications/{app}/guilds/{guild}/commands", self._put_commands),
            web.post(api + "/interactions/{id}/{token}/callback", self._callback),
            web.post(hook, self._followup),
            web.route("*", hook + "/messages/{message}", self._webhook_message),
            web.get("/attachments/{id}/{filename}", self._download),
            web.get("/gateway", self.gateway.handle),
            web.route("*", "/{tail:.*}", self._unknown),
        ]

    async def _unknown(self, request: web.Request) -> web.Response:
        self.unknown_routes.append(f"{request.method} {request.path}")
        return error_response(404, 0, "404: Not Found")

    async def _get_me(self, request: web.Request) -> web.Response:
        return json_response(self.bot_user)

    async def _get_application(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "id": self.app_id,
                "name": self.bot_user["username"],
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user_payload("300000000000000001", "owner"),
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
                "summary": "",
                "interactions_endpoint_url": None,
            }
        )

    async def _get_gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return json_response({"url": self.gateway.url, "shards": 1, "session_start_limit": limit})

    async def _get_commands(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        return json_response(self.guild_commands.get(guild, []) if guild else self.global_commands)

    async def _put_commands(self, request: web.Request) -> web.Response:
        if request.match_info["app"] != self.app_id:
            return error_response(403, 50001, "Missing Access")
        guild = request.match_info.get("guild")
        previous = self.guild_commands.get(guild, []) if guild else self.global_commands
        synced = [self._registered(cmd, previous, guild) for cmd in await request.json()]
        if guild:
            self.guild_commands[guild] = synced
        else:
            self.global_commands = synced
        return json_response(synced)

    def _registered(self, command: Json, previous: list[Json], guild: str | None) -> Json:
        """Echo a command as Discord does: keep its id across syncs, add ids and defaults."""
        kind = command.get("type", 1)
        same = [c for c in previous if c["name"] == command["name"] and c["type"] == kind]
        registered: Json = {
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
        }
        registered |= command
        registered |= {"id": same[0]["id"] if same else self.ids.next(), "application_id": self.app_id}
        registered |= {"type": kind, "version": self.ids.next()}
        if guild:
            registered["guild_id"] = guild
        return registered

    async def _download(self, request: web.Request) -> web.Response:
        hosted = self._files.get(request.match_info["id"])
        if hosted is None or hosted.filename != request.match_info["filename"]:
            return web.Response(status=404, text="not found")
        self.downloads[request.match_info["id"]] += 1
        return web.Response(body=hosted.data, content_type=hosted.content_type or "application/octet-stream")

    # -- interaction responses -------------------------------------------------------------------------

    async def _callback(self, request: web.Request) -> web.Response:
        state = self._interactions.get(request.match_info["token"])
        if state is None or state.interaction.id != request.match_info["id"]:
            return error_response(404, 10062, "Unknown interaction")
        if state.acknowledged:
            return error_response(400, 40060, "Interaction has already been acknowledged.")
        payload, files = await read_message_body(request)
        state.acknowledged = True
        kind, data = payload.get("type"), payload.get("data") or {}
        message = None
        if kind in (4, 5):
            message = state.original = self._new_message(data, files, state, loading=kind == 5)
        elif kind == 7 and state.original is not None:
            message = self._edit_message(state.original, data, files)
        await self._record("callback", state, payload, files, message)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        return json_response(self._callback_answer(state, kind, data, message))

    def _callback_answer(self, state: _InteractionState, kind: Any, data: Json, message: Json | None) -> Json:
        """The 2.5+ `with_response` shape: {interaction, resource}."""
        info: Json = {"id": state.interaction.id, "type": state.interaction.type}
        if message is not None:
            info["response_message_id"] = message["id"]
            info["response_message_loading"] = kind == 5
            info["response_message_ephemeral"] = bool(int(data.get("flags") or 0) & EPHEMERAL)
        resource: Json = {"type": kind}
        if message is not None:
            resource["message"] = message
        return {"interaction": info, "resource": resource}

    async def _followup(self, request: web.Request) -> web.Response:
        state = self._webhook_state(request)
        if state is None or not state.acknowledged:
            return error_response(404, 10015, "Unknown Webhook")
        payload, files = await read_message_body(request)
        original = state.original
        if original is not None and int(original["flags"]) & LOADING:
            # The first follow-up after a defer fills the "thinking" message and keeps the defer's ephemerality.
            message = self._edit_message(original, {k: v for k, v in payload.items() if k != "flags"}, files)
        else:
            message = self._new_message(payload, files, state)
        state.followups[message["id"]] = message
        await self._record("followup", state, payload, files, message)
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(message)
        return web.Response(status=204)

    async def _webhook_message(self, request: web.Request) -> web.Response:
        state = self._webhook_state(request)
        message_id = request.match_info["message"]
        message = None
        if state is not None:
            message = state.original if message_id == "@original" else state.followups.get(message_id)
        if state is None or message is None:
            return error_response(404, 10008, "Unknown Message")
        if request.method == "GET":
            return json_response(message)
        if request.method == "DELETE":
            self._forget(state, message)
            await self._record("delete", state, {}, [], message)
            return web.Response(status=204)
        if request.method != "PATCH":
            return error_response(405, 0, "405: Method Not Allowed")
        payload, files = await read_message_body(request)
        self._edit_message(message, payload, files)
        await self._record("edit", state, payload, files, message)
        return json_response(message)

    def _webhook_state(self, request: web.Request) -> _InteractionState | None:
        if request.match_info["app"] != self.app_id:
            return None
        return self._interactions.get(request.match_info["token"])

    @staticmethod
    def _forget(state: _InteractionState, message: Json) -> None:
        if state.original is message:
            state.original = None
        state.followups.pop(message["id"], None)

    async def _record(
        self,
        kind: ResponseKind,
        state: _InteractionState,
        payload: Json,
        files: list[RecordedFile],
        message: Json | None,
    ) -> None:
        snapshot = json.loads(json.dumps(message)) if message is not None else None
        self.responses.append(RecordedResponse(kind, state.interaction, payload, files, snapshot))
        async with self._changed:
            self._changed.notify_all()

    # -- messages and files ----------------------------------------------------------------------------

    def _new_message(
        self, body: Json, files: list[RecordedFile], state: _InteractionState, *, loading: bool = False
    ) -> Json:
        interaction = state.interaction
        flags = int(body.get("flags") or 0) | (LOADING if loading else 0)
        message = self.make_message(
            str(body.get("content") or ""), author=self.bot_user, channel_id=interaction.payload["channel_id"]
        )
        message |= {"type": 20 if interaction.type == 2 else 0, "flags": flags, "webhook_id": self.app_id}
        message |= {"application_id": self.app_id, "embeds": body.get("embeds") or []}
        message |= {"components": body.get("components") or []}
        message["attachments"] = [self._host_upload(f) for f in files]
        return message

    def _edit_message(self, message: Json, body: Json, files: list[RecordedFile]) -> Json:
        for key, empty in (("content", ""), ("embeds", []), ("components", []), ("flags", 0)):
            if key in body:
                message[key] = empty if body[key] is None else body[key]
        if "attachments" in body or files:
            keep = {str(a.get("id")) for a in body.get("attachments") or []}
            kept = [a for a in message["attachments"] if a["id"] in keep]
            message["attachments"] = kept + [self._host_upload(f) for f in files]
        message["flags"] = int(message.get("flags") or 0) & ~LOADING
        message["edited_timestamp"] = iso_now()
        return message

    def _host_upload(self, upload: RecordedFile) -> Json:
        return self.add_attachment(upload.data, upload.filename, upload.content_type)

    def add_attachment(self, data: bytes, filename: str, content_type: str | None = "image/png") -> Json:
        """Host a file on the fake CDN and return its Discord attachment object (downloads are counted)."""
        attachment_id = self.ids.next()
        self._files[attachment_id] = _HostedFile(filename, content_type, data)
        url = f"{self.base_url}/attachments/{attachment_id}/{filename}"
        attachment: Json = {"id": attachment_id, "filename": filename, "size": len(data), "url": url}
        attachment |= {"proxy_url": url, "content_type": content_type}
        size = _image_size(data) if (content_type or "").startswith("image/") else None
        if size is not None:
            attachment |= {"width": size[0], "height": size[1]}
        return attachment

    def _track(self, interaction: FakeInteraction, message: Json | None) -> None:
        self._interactions[interaction.token] = _InteractionState(interaction, original=message)

    # -- assertions helpers ----------------------------------------------------------------------------

    def responses_for(
        self, interaction: FakeInteraction, kind: ResponseKind | None = None
    ) -> list[RecordedResponse]:
        """Everything the bot answered to `interaction` (optionally one kind), in order."""
        return [r for r in self.responses if r.interaction.id == interaction.id and kind in (None, r.kind)]

    async def wait_for_response(
        self,
        interaction: FakeInteraction,
        kind: ResponseKind = "callback",
        *,
        index: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109 (the documented test API)
    ) -> RecordedResponse:
        """Wait for the `index`-th response of `kind` to `interaction`."""
        try:
            async with self._changed, asyncio.timeout(timeout):
                await self._changed.wait_for(lambda: len(self.responses_for(interaction, kind)) > index)
        except TimeoutError:
            seen = [r.kind for r in self.responses_for(interaction)]
            raise AssertionError(
                f"no {kind} #{index} to interaction {interaction.id} within {timeout}s; got {seen}, "
                f"unknown routes {self.unknown_routes}, gateway problems {self.gateway.problems}"
            ) from None
        return self.responses_for(interaction, kind)[index]


@contextlib.asynccontextmanager
async def running_client(
    dc: FakeDiscord, client: Any, token: str | None = None
) -> AsyncIterator[asyncio.Task[None]]:
    """Log a discord.Client in against `dc`, connect it in this loop, wait for READY; close it afterwards."""
    dc.install()
    try:
        await client.login(token or dc.token)
    except BaseException:
        await client.close()
        raise
    task = asyncio.create_task(client.connect(reconnect=False))
    try:
        ready = asyncio.create_task(dc.wait_ready())
        done, _ = await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ready.cancel()
            task.result()  # connect() ended before READY: raise its error
            raise RuntimeError(
                f"client.connect() returned before READY; gateway problems {dc.gateway.problems}"
            )
        await ready
        await asyncio.wait_for(client.wait_until_ready(), timeout=30)
        yield task
    finally:
        await client.close()
        await asyncio.wait([task])
    task.result()  # a clean close returns; anything else is a failure the test should see
