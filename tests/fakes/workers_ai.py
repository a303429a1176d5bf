"""A local stand-in for the Cloudflare Workers AI REST API, with scriptable failures per account.

It checks request shapes the way the real API does (FLUX.2 only takes multipart, flux-1-schnell refuses
width/height, references must decode and be at most 512×512) and answers real images of the requested size::

    async with FakeWorkersAI() as fake:
        fake.script("acc1", SPENT, "capacity")  # the next two calls on acc1 fail, then "ok" again
        fake.default("acc2", rate_limited(30))  # every call on acc2 is rate limited
        ... point the client at fake.base_url ...
        assert fake.calls_for("acc1")[0].behaviour == "spent"

Cloudflare's own day (the midnight edge): ``fake.spend_for_the_day("acc1", clock.time, lag=300)`` makes acc1 answer
"spent" until Cloudflare's next 00:00 UTC, which comes ``lag`` seconds after the bot's clock says midnight.

The OpenAI-compatible ``/ai/v1/chat/completions`` answers ``fake.chat_answer`` and takes its behaviours from the
same per-account scripts (an account that is spent is spent for text models too); calls land in ``chat_calls``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import math
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, web
from PIL import Image

from tests.fakes.llm import chat_completion
from tests.fakes.loopback import serve_on_loopback

# --- behaviours ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    """What the fake does with one call. Build with the constants and factories below."""

    name: str
    delay: float = 0.0
    retry_after: float | None = None


OK = Behaviour("ok")
SPENT = Behaviour("spent")
SPENT_4006 = Behaviour("spent_4006")
CAPACITY = Behaviour("capacity")
UNAUTHORIZED = Behaviour("unauthorized")
BAD_ACCOUNT = Behaviour("bad_account")
PAID_ONLY = Behaviour("paid_only")
HTML_500 = Behaviour("html_500")
MALFORMED_JSON = Behaviour("malformed_json")
CONTENT_FILTER = Behaviour("content_filter")
#: Cloudflare's edge (or a WAF, a proxy) blocking the caller: an HTML 403 that says nothing about the token
HTML_403 = Behaviour("html_403")


def ok(delay: float = 0.0) -> Behaviour:
    """Answer an image after ``delay`` seconds."""
    return Behaviour("ok", delay=delay)


def rate_limited(retry_after: float | None = 5.0) -> Behaviour:
    """A plain 429 (no capacity or allocation code), with ``Retry-After`` when given."""
    return Behaviour("rate_limited", retry_after=retry_after)


def timeout(seconds: float) -> Behaviour:
    """Sleep ``seconds`` before answering normally: longer than the client's timeout, it looks like a hang."""
    return Behaviour("timeout", delay=seconds)


#: a 200 whose JSON body is 64 MB of base64, its length declared up front (refused from the header)
HUGE_BODY = Behaviour("huge_body")
#: the same 64 MB sent chunked, with no length: only counting the bytes read can stop it
HUGE_STREAM = Behaviour("huge_stream")
#: a 200 "image/png" that is a PNG signature followed by a proxy's HTML page
PNG_HTML = Behaviour("png_html")
#: a 200 whose result.image is a real PNG's base64 with HTML noise inside (a lenient decoder skips it)
BAD_BASE64 = Behaviour("bad_base64")


def slow_body(seconds: float) -> Behaviour:
    """Answer the image normally, but send the body in small pieces spread over ``seconds``."""
    return Behaviour("slow_body", delay=seconds)


HUGE_BODY_BYTES = 64 * 1024 * 1024
_STREAMED = frozenset({"huge_body", "huge_stream", "slow_body"})


def trickle(seconds: float) -> Behaviour:
    """Answer an image at once but send its body in small pieces spread over ``seconds``: every read arrives
    quickly, the whole answer late (what a per-read timeout never cuts off)."""
    return Behaviour("trickle", delay=seconds)


_NAMED = (
    *(
        OK,
        SPENT,
        SPENT_4006,
        CAPACITY,
        UNAUTHORIZED,
        BAD_ACCOUNT,
        PAID_ONLY,
        HTML_500,
        MALFORMED_JSON,
        HTML_403,
    ),
    *(HUGE_BODY, HUGE_STREAM, PNG_HTML, BAD_BASE64),
)
_BY_NAME = {b.name: b for b in (*_NAMED, CONTENT_FILTER, rate_limited())}

# HTTP status, Cloudflare error code, message: the shapes the real API answers with.
_ERRORS: dict[str, tuple[int, int, str]] = {
    "spent": (
        429,
        3036,
        "AiError: Account limited: you have used up your daily free allocation of 10,000 neurons, "
        "please upgrade to Cloudflare's Workers Paid plan if you would like to continue usage.",
    ),
    "spent_4006": (
        429,
        4006,
        "AiError: AiError: you have used up your daily free allocation of 10,000 neurons, please upgrade to "
        "Cloudflare's Workers Paid plan if you would like to continue usage. (b3c1d2e4-0000-4000-8000-000000000000)",
    ),
    "capacity": (429, 3040, "AiError: Capacity temporarily exceeded, please try again."),
    "unauthorized": (401, 10000, "Authentication error"),
    "bad_account": (
        404,
        7003,
        "Could not route to /client/v4/accounts/…/ai/run, perhaps your object identifier is invalid?",
    ),
    "paid_only": (403, 5035, "AiError: This model is only available on the Workers Paid plan."),
    "content_filter": (400, 3030, "AiError: Input prompt contains NSFW content."),
}
_HTML_500 = (
    b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body>oops</body></html>"
)
_TRUNCATED_JSON = b'{"result": {"image": "iVBORw0KGgoAAAANSUhEUgAA'
_EDGE_403 = (
    b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>"
    b"<h1>Sorry, you have been blocked</h1><h2>You are unable to access api.cloudflare.com</h2>"
    b"<p>Cloudflare Ray ID: 8f1e2d3c4b5a6978 &bull; Error 1020: Access denied</p></body></html>"
)

# --- models --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Model:
    family: str  # "flux2", "schnell", "sd", "leonardo"
    image_format: str  # "PNG" or "JPEG"
    raw: bool  # answers raw bytes instead of base64 JSON
    neurons_per_tile: float
    max_side: int = 1920
    max_steps: int = 50
    json_keys: frozenset[str] = frozenset()


_SD_KEYS = frozenset(
    {"prompt", "negative_prompt", "width", "height", "num_steps", "guidance", "seed", "strength"}
)
_MODELS: dict[str, _Model] = {
    "@cf/black-forest-labs/flux-2-klein-4b": _Model("flux2", "PNG", False, 26.0),
    "@cf/black-forest-labs/flux-2-klein-9b": _Model("flux2", "PNG", False, 341.0),
    "@cf/black-forest-labs/flux-2-dev": _Model("flux2", "JPEG", False, 925.0),
    "@cf/black-forest-labs/flux-1-schnell": _Model(
        "schnell", "JPEG", False, 43.25, max_steps=8, json_keys=frozenset({"prompt", "steps"})
    ),
    "@cf/bytedance/stable-diffusion-xl-lightning": _Model("sd", "PNG", True, 0.0, 2048, 20, _SD_KEYS),
    "@cf/stabilityai/stable-diffusion-xl-base-1.0": _Model("sd", "PNG", True, 0.0, 2048, 20, _SD_KEYS),
    "@cf/lykon/dreamshaper-8-lcm": _Model("sd", "PNG", True, 0.0, 2048, 20, _SD_KEYS),
    "@cf/leonardo/phoenix-1.0": _Model("leonardo", "JPEG", True, 775.0, 2048, 50, _SD_KEYS - {"strength"}),
    "@cf/leonardo/lucid-origin": _Model(
        "leonardo",
        "JPEG",
        False,
        975.0,
        2500,
        40,
        frozenset({"prompt", "guidance", "seed", "width", "height", "num_steps"}),
    ),
}
_FLUX2_FIELDS = frozenset({"prompt", "width", "height", "seed", "steps", "guidance"})
_REFERENCE_FIELDS = tuple(f"input_image_{i}" for i in range(4))
_PALETTE = ((200, 60, 60), (60, 160, 80), (50, 90, 200), (230, 190, 40), (140, 70, 170), (30, 160, 170))


@lru_cache(maxsize=128)
def _encoded_image(width: int, height: int, image_format: str, colour: tuple[int, int, int]) -> bytes:
    # Solid colour and cached: hundreds of calls in a benchmark must cost next to nothing.
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format=image_format)
    return buffer.getvalue()


# --- records -------------------------------------------------------------------------------------


@dataclass
class FakeCall:
    """One ``/ai/run`` call as the fake saw it; ``fields`` are the text fields (no image bytes)."""

    account_id: str
    model: str
    content_type: str
    fields: dict[str, str]
    reference_sizes: list[tuple[int, int] | None]  # decoded (width, height); None when undecodable
    reference_bytes: list[int]
    width: int | None
    height: int | None
    seed: int | None
    steps: int | None
    time: float  # time.monotonic() on arrival
    token: str = ""
    behaviour: str = ""
    status: int = 0
    #: body bytes the fake managed to send before the client stopped reading (streamed answers)
    sent_bytes: int = 0
    #: the multipart field names of the references, in order (``input_image_0``, ...)
    reference_names: list[str] = field(default_factory=list)


@dataclass
class FakeChatCall:
    """One ``/ai/v1/chat/completions`` call."""

    account_id: str
    model: str | None
    messages: list[dict[str, Any]]
    token: str = ""
    behaviour: str = ""
    status: int = 0


@dataclass
class _Parsed:
    content_type: str
    fields: dict[str, Any] = field(default_factory=dict)
    references: dict[str, bytes] = field(default_factory=dict)
    broken: bool = False


# --- the server ----------------------------------------------------------------------------------


class FakeWorkersAI:
    """The fake API on 127.0.0.1 (ephemeral port). ``base_url`` ends in ``/client/v4``."""

    def __init__(self) -> None:
        self.calls: list[FakeCall] = []
        self.verify_calls: list[tuple[str, str]] = []  # (path kind "account"/"user", token kind)
        self.chat_calls: list[FakeChatCall] = []
        #: the text every successful chat completion answers with
        self.chat_answer = "A lighthouse on a cliff at dusk, warm light, wide shot, calm mood"
        self.images_served = 0
        #: image calls being answered now, and the most there ever were at once
        self.in_flight = 0
        self.most_in_flight = 0
        #: > 0: token checks answer one byte every this many seconds, never finishing (a trickling upstream)
        self.verify_trickle = 0.0
        self._scripts: dict[str, deque[Behaviour]] = defaultdict(deque)
        self._defaults: dict[str, Behaviour] = {}
        self._token_kinds: dict[str, str] = {}
        #: account id -> (Cloudflare's day it was spent on, the bot's clock, how late Cloudflare's day flips)
        self._spent_days: dict[str, tuple[str, Callable[[], float], float]] = {}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- scripting ---------------------------------------------------------------------------------
    def script(self, account_id: str, *behaviours: Behaviour | str) -> None:
        """Queue behaviours for the next calls on ``account_id``; afterwards its default applies."""
        self._scripts[account_id].extend(_behaviour(b) for b in behaviours)

    def default(self, account_id: str, behaviour: Behaviour | str) -> None:
        """What ``account_id`` does once its script is used up (initially "ok")."""
        self._defaults[account_id] = _behaviour(behaviour)

    def set_token(self, token: str, kind: str) -> None:
        """``kind``: "account" (default for unknown tokens), "user", "bad" or "disabled"."""
        if kind not in ("account", "user", "bad", "disabled"):
            raise ValueError(kind)
        self._token_kinds[token] = kind

    def spend_for_the_day(self, account_id: str, clock: Callable[[], float], *, lag: float = 0.0) -> None:
        """``account_id`` answers "spent" until Cloudflare's next 00:00 UTC, ``lag`` seconds after ``clock``'s."""
        self._spent_days[account_id] = (_cloudflare_day(clock(), lag), clock, lag)

    def calls_for(self, account_id: str) -> list[FakeCall]:
        """The ``/ai/run`` calls made on one account, in arrival order."""
        return [call for call in self.calls if call.account_id == account_id]

    # -- lifecycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> FakeWorkersAI:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/client/v4/accounts/{account_id}/ai/run/{model:.+}", self._run)
        app.router.add_post("/client/v4/accounts/{account_id}/ai/v1/chat/completions", self._chat)
        app.router.add_get("/client/v4/accounts/{account_id}/tokens/verify", self._verify_account)
        app.router.add_get("/client/v4/user/tokens/verify", self._verify_user)
        self._runner, port = await serve_on_loopback(app)
        self.base_url = f"http://127.0.0.1:{port}/client/v4"

    def release(self) -> None:
        """Wake every call sleeping in a ``timeout``/``ok(delay)`` behaviour (it then answers at once)."""
        self._closing.set()

    async def close(self) -> None:
        """Wake sleeping handlers and stop listening."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- handlers ----------------------------------------------------------------------------------
    async def _run(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self._run_one(request)
        finally:
            self.in_flight -= 1

    async def _run_one(self, request: web.Request) -> web.StreamResponse:
        account_id, model = request.match_info["account_id"], request.match_info["model"]
        parsed = await _parse(request)
        call = _record(account_id, model, parsed, _bearer(request))
        self.calls.append(call)
        if self._token_kind(call.token) not in ("account", "user"):
            call.behaviour = "bad_token"
            response = _error(401, 10000, "Authentication error")
        else:
            behaviour = self._next_behaviour(account_id)
            call.behaviour = behaviour.name
            if behaviour.name in _STREAMED:
                return await self._stream(request, call, behaviour, model, parsed)
            response = await self._respond(behaviour, model, parsed)
        call.status = response.status
        if call.behaviour == "trickle" and response.status == 200:
            return await self._trickle(request, response, behaviour.delay)
        return response

    async def _stream(
        self, request: web.Request, call: FakeCall, behaviour: Behaviour, model: str, parsed: _Parsed
    ) -> web.StreamResponse:
        """Send the body piece by piece: 64 MB for ``huge_*``, slowly for ``slow_body``."""
        headers = {"Content-Type": "application/json"}
        if behaviour.name.startswith("huge"):
            opening = b'{"result": {"image": "'
            pieces = [opening] + [b"A" * (1 << 20)] * (HUGE_BODY_BYTES >> 20)
            pause = 0.0
            if behaviour.name == "huge_body":
                headers["Content-Length"] = str(len(opening) + HUGE_BODY_BYTES)
        else:
            answer = self._image_answer(model, parsed)
            body = answer.body if isinstance(answer.body, bytes) else b""
            size = max(1, len(body) // 10)
            pieces = [body[i : i + size] for i in range(0, len(body), size)]
            pause = behaviour.delay / len(pieces)
        response = web.StreamResponse(status=200, headers=headers)
        call.status = 200
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):  # the client gave up reading: that is the point
            for piece in pieces:
                await response.write(piece)
                call.sent_bytes += len(piece)
                if pause:
                    await asyncio.sleep(pause)
            await response.write_eof()
        return response

    async def _trickle(
        self, request: web.Request, answer: web.Response, seconds: float
    ) -> web.StreamResponse:
        body = bytes(answer.body) if isinstance(answer.body, bytes | bytearray) else b""
        headers = {
            k: v for k, v in answer.headers.items() if k.lower() not in ("content-length", "content-type")
        }
        stream = web.StreamResponse(status=answer.status, headers=headers)
        stream.content_type = answer.content_type
        pieces = 40
        step = max(1, -(-len(body) // pieces))
        try:
            await stream.prepare(request)
            for start in range(0, len(body), step):
                await stream.write(body[start : start + step])
                if not self._closing.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), seconds / pieces)
            await stream.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client gave up (that is the point of the test): nothing left to send
        return stream

    async def _chat(self, request: web.Request) -> web.Response:
        account_id = request.match_info["account_id"]
        parsed = await _parse(request)
        messages = parsed.fields.get("messages")
        call = FakeChatCall(
            account_id=account_id,
            model=parsed.fields.get("model"),
            messages=messages if isinstance(messages, list) else [],
            token=_bearer(request),
        )
        self.chat_calls.append(call)
        if self._token_kind(call.token) not in ("account", "user"):
            call.behaviour = "bad_token"
            response = _error(401, 10000, "Authentication error")
        elif parsed.content_type != "application/json" or not call.messages or not call.model:
            call.behaviour = "bad_input"
            response = _bad_input("required properties at '/' are 'model', 'messages'")
        else:
            behaviour = self._next_behaviour(account_id)
            call.behaviour = behaviour.name
            response = self._failure(behaviour) or await self._chat_answer(behaviour, call.model)
        call.status = response.status
        return response

    async def _chat_answer(self, behaviour: Behaviour, model: str | None) -> web.Response:
        await self._delay(behaviour)
        return web.json_response(chat_completion(self.chat_answer, model), headers={"cf-ai-neurons": "3.5"})

    async def _respond(self, behaviour: Behaviour, model: str, parsed: _Parsed) -> web.Response:
        return self._failure(behaviour) or await self._image_after_delay(behaviour, model, parsed)

    async def _image_after_delay(self, behaviour: Behaviour, model: str, parsed: _Parsed) -> web.Response:
        await self._delay(behaviour)
        return self._image_answer(model, parsed)

    async def _delay(self, behaviour: Behaviour) -> None:
        if behaviour.delay > 0 and behaviour.name != "trickle":  # a trickle spends its time sending
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), behaviour.delay)

    def _failure(self, behaviour: Behaviour) -> web.Response | None:
        """The error answer ``behaviour`` stands for; None when it answers normally (perhaps after a delay)."""
        if behaviour.name in _ERRORS:
            return _error(*_ERRORS[behaviour.name])
        if behaviour.name == "rate_limited":
            headers = {} if behaviour.retry_after is None else {"Retry-After": f"{behaviour.retry_after:g}"}
            return _error(429, 971, "Please wait and consider throttling your request speed", headers)
        if behaviour.name == "html_500":
            return web.Response(status=500, body=_HTML_500, content_type="text/html")
        if behaviour.name == "html_403":
            return web.Response(status=403, body=_EDGE_403, content_type="text/html")
        if behaviour.name == "malformed_json":
            return web.Response(status=200, body=_TRUNCATED_JSON, content_type="application/json")
        if behaviour.name == "png_html":
            return web.Response(status=200, body=b"\x89PNG\r\n\x1a\n" + _HTML_500, content_type="image/png")
        if behaviour.name == "bad_base64":
            noisy = base64.b64encode(_encoded_image(64, 64, "PNG", _PALETTE[0])).decode()
            envelope = {"result": {"image": f"{noisy[:40]}<!-- -->{noisy[40:]}"}, "success": True}
            return web.json_response(envelope)
        return None

    def _image_answer(self, model_name: str, parsed: _Parsed) -> web.Response:
        model = _MODELS.get(model_name)
        if model is None:
            return _error(400, 5007, f"No such model {model_name[:100]} or task")
        problem = _check_shape(model, parsed)
        if problem is not None:
            return problem
        width, height = _requested_size(model, parsed.fields)
        seed = _int_or_none(parsed.fields.get("seed")) or 0
        data = _encoded_image(width, height, model.image_format, _PALETTE[seed % len(_PALETTE)])
        tiles = math.ceil(width / 512) * math.ceil(height / 512)
        headers = {
            "cf-ai-req-id": str(uuid.uuid4()),
            "cf-ai-neurons": f"{tiles * model.neurons_per_tile:.2f}",
        }
        self.images_served += 1
        if model.raw:
            return web.Response(
                body=data, content_type=f"image/{model.image_format.lower()}", headers=headers
            )
        envelope = {
            "result": {"image": base64.b64encode(data).decode()},
            "success": True,
            "errors": [],
            "messages": [],
        }
        return web.json_response(envelope, headers=headers)

    async def _verify_account(self, request: web.Request) -> web.StreamResponse:
        if self.verify_trickle:
            return await self._endless_verify(request)
        return self._verify(request, "account")

    async def _verify_user(self, request: web.Request) -> web.StreamResponse:
        if self.verify_trickle:
            return await self._endless_verify(request)
        return self._verify(request, "user")

    async def _endless_verify(self, request: web.Request) -> web.StreamResponse:
        """Headers at once, then a byte now and then until the fake closes: no read ever times out."""
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            while not self._closing.is_set():
                await response.write(b" ")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), self.verify_trickle)
        return response

    def _verify(self, request: web.Request, path_kind: str) -> web.Response:
        kind = self._token_kind(_bearer(request))
        self.verify_calls.append((path_kind, kind))
        if kind == "disabled":
            return web.json_response(
                {"result": {"id": "t", "status": "disabled"}, "success": True, "errors": []}
            )
        if kind != path_kind:
            return _error(401, 1000, "Invalid API Token")
        result = {"id": uuid.uuid4().hex, "status": "active"}
        message = {"code": 10000, "message": "This API Token is valid and active", "type": None}
        return web.json_response({"result": result, "success": True, "errors": [], "messages": [message]})

    def _token_kind(self, token: str) -> str:
        if not token:
            return "bad"
        return self._token_kinds.get(token, "account")

    def _next_behaviour(self, account_id: str) -> Behaviour:
        if account_id in self._spent_days:
            day, clock, lag = self._spent_days[account_id]
            if _cloudflare_day(clock(), lag) == day:
                return SPENT
            del self._spent_days[account_id]  # Cloudflare's day flipped: the allocation is back
        queue = self._scripts[account_id]
        return queue.popleft() if queue else self._defaults.get(account_id, OK)


# --- request parsing and checks ------------------------------------------------------------------


def _cloudflare_day(bot_time: float, lag: float) -> str:
    return datetime.fromtimestamp(bot_time - lag, UTC).date().isoformat()


def _behaviour(value: Behaviour | str) -> Behaviour:
    return value if isinstance(value, Behaviour) else _BY_NAME[value]


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else ""


async def _parse(request: web.Request) -> _Parsed:
    parsed = _Parsed(content_type=request.content_type)
    try:
        if request.content_type == "multipart/form-data":
            await _parse_multipart(request, parsed)
        elif request.content_type == "application/json":
            document = json.loads(await request.read())
            if not isinstance(document, dict):
                raise ValueError("not an object")
            parsed.fields = document
        else:
            parsed.broken = True
    except (ValueError, UnicodeDecodeError):
        parsed.broken = True
    return parsed


async def _parse_multipart(request: web.Request, parsed: _Parsed) -> None:
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name is None:
            raise ValueError("unexpected multipart part")
        data = await part.read()
        if part.name.startswith("input_image_"):
            parsed.references[part.name] = bytes(data)
        else:
            parsed.fields[part.name] = bytes(data).decode("utf-8")


def _record(account_id: str, model: str, parsed: _Parsed, token: str) -> FakeCall:
    fields = {key: str(value) for key, value in parsed.fields.items() if key != "image_b64"}
    return FakeCall(
        account_id=account_id,
        model=model,
        content_type=parsed.content_type,
        fields=fields,
        reference_sizes=[_image_size(data) for data in parsed.references.values()],
        reference_bytes=[len(data) for data in parsed.references.values()],
        width=_int_or_none(parsed.fields.get("width")),
        height=_int_or_none(parsed.fields.get("height")),
        seed=_int_or_none(parsed.fields.get("seed")),
        steps=_int_or_none(parsed.fields.get("steps", parsed.fields.get("num_steps"))),
        time=time.monotonic(),
        token=token,
        reference_names=list(parsed.references),
    )


def _check_shape(model: _Model, parsed: _Parsed) -> web.Response | None:
    if parsed.broken:
        return _bad_input("could not parse the request body")
    if model.family == "flux2":
        if parsed.content_type != "multipart/form-data":
            return _bad_input("Error: required properties at '/' are 'multipart'")
        allowed = _FLUX2_FIELDS
    elif parsed.content_type != "application/json":
        return _bad_input("Type mismatch of '/', 'object' not in 'string'")
    else:
        allowed = model.json_keys
    extra = sorted(set(parsed.fields) - allowed)
    if extra or set(parsed.references) - set(_REFERENCE_FIELDS):
        return _bad_input(f"Additional or unevaluated properties: {extra or sorted(parsed.references)}")
    return _check_values(model, parsed)


def _check_values(model: _Model, parsed: _Parsed) -> web.Response | None:
    prompt = parsed.fields.get("prompt")
    if not isinstance(prompt, str) or not 1 <= len(prompt) <= 2048:
        return _bad_input("required properties at '/' are 'prompt' (1 to 2048 characters)")
    if parsed.content_type == "application/json":
        for name in ("width", "height", "steps", "num_steps", "seed"):
            if name in parsed.fields and type(parsed.fields[name]) is not int:
                return _bad_input(f"Type mismatch of '/{name}', 'integer' expected")
    for name in ("width", "height"):
        if name in parsed.fields and not 256 <= (_int_or_none(parsed.fields[name]) or 0) <= model.max_side:
            return _bad_input(f"'/{name}' must be an integer from 256 to {model.max_side}")
    for name in ("steps", "num_steps"):
        if name in parsed.fields and not 1 <= (_int_or_none(parsed.fields[name]) or 0) <= model.max_steps:
            return _bad_input(f"'/{name}' must be an integer from 1 to {model.max_steps}")
    if "seed" in parsed.fields and _int_or_none(parsed.fields["seed"]) is None:
        return _bad_input("'/seed' must be an integer")
    for index, data in enumerate(parsed.references.values()):
        size = _image_size(data)
        if size is None:
            return _error(400, 3030, f"AiError: Invalid input image[{index}]: unable to decode image file")
        if max(size) > 512:
            return _bad_input(f"input image[{index}] is {size[0]}x{size[1]}; at most 512x512 is allowed")
    return None


def _requested_size(model: _Model, fields: dict[str, Any]) -> tuple[int, int]:
    if model.family == "schnell":
        return 1024, 1024
    return _int_or_none(fields.get("width")) or 1024, _int_or_none(fields.get("height")) or 1024


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return image.size
    except Exception:
        return None


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
    return None


def _bad_input(problem: str) -> web.Response:
    return _error(400, 5006, f"AiError: Bad input: {problem}")


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    envelope = {
        "result": None,
        "success": False,
        "errors": [{"code": code, "message": message}],
        "messages": [],
    }
    all_headers = {"cf-ai-req-id": str(uuid.uuid4()), **(headers or {})}
    return web.json_response(envelope, status=status, headers=all_headers)
