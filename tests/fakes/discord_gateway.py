"""Gateway half of the fake Discord: the websocket, the payloads it carries, and the test-side
`InteractionDriver` (slash commands, context menus, modal submits, button presses sent as INTERACTION_CREATE).

Shapes follow what discord.py 2.7 reads (see discord/gateway.py, state.py, interactions.py).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import WSMsgType, web

Json = dict[str, Any]

DISCORD_EPOCH_MS = 1420070400000
ALL_PERMISSIONS = str((1 << 51) - 1)
# Close codes from Discord's gateway documentation.
CLOSE_UNKNOWN_ERROR = 4000
CLOSE_AUTHENTICATION_FAILED = 4004


class Snowflakes:
    """Unique, increasing snowflake ids whose timestamp is 'now' (discord.py derives created_at from them)."""

    def __init__(self) -> None:
        self._count = 0

    def next(self) -> str:
        """Return a fresh snowflake as Discord sends it: a decimal string."""
        self._count += 1
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((now_ms << 22) | (self._count & 0x3FFFFF))


def iso_now() -> str:
    """Current time in Discord's ISO-8601 format."""
    return datetime.now(UTC).isoformat()


def user_payload(user_id: str, username: str, *, bot: bool = False) -> Json:
    """A user object."""
    return {
        "id": user_id,
        "username": username,
        "discriminator": "0",
        "global_name": username,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def member_payload(user: Json, *, permissions: str = ALL_PERMISSIONS) -> Json:
    """A guild member object as sent inside interactions (with computed permissions)."""
    return {
        "user": user,
        "nick": None,
        "avatar": None,
        "roles": [],
        "joined_at": iso_now(),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "permissions": permissions,
    }


def dm_channel_payload(channel_id: str, recipient: Json) -> Json:
    """A DM channel object."""
    return {"id": channel_id, "type": 1, "recipients": [recipient], "last_message_id": None}


def text_channel_payload(channel_id: str, guild_id: str, name: str = "general") -> Json:
    """A guild text channel object."""
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": guild_id,
        "name": name,
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


def guild_payload(guild_id: str, name: str, channels: list[Json]) -> Json:
    """A GUILD_CREATE payload for an available guild with no members cached."""
    everyone = {
        "id": guild_id,
        "name": "@everyone",
        "permissions": "1071698660929",
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }
    return {
        "id": guild_id,
        "name": name,
        "unavailable": False,
        "owner_id": guild_id,
        "icon": None,
        "features": [],
        "preferred_locale": "en-US",
        "roles": [everyone],
        "emojis": [],
        "stickers": [],
        "channels": channels,
        "threads": [],
        "members": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "member_count": 1,
        "large": False,
        "joined_at": iso_now(),
    }


@dataclass
class GatewayConnection:
    """One websocket client: its negotiated options, what it sent, and our outgoing sequence."""

    ws: web.WebSocketResponse
    query: dict[str, str]
    identify: Json | None = None
    heartbeats: int = 0
    compressed_frames: int = 0
    received_ops: list[int] = field(default_factory=list)
    sequence: int = 0
    _compressor: Any = None

    @property
    def compression(self) -> str | None:
        """Transport compression the client asked for in the URL (e.g. 'zlib-stream')."""
        return self.query.get("compress")

    async def send(self, payload: Json) -> None:
        """Send one gateway payload, zlib-stream compressed if the client asked for it."""
        raw = json.dumps(payload).encode()
        if self.compression != "zlib-stream":
            await self.ws.send_str(raw.decode())
            return
        if self._compressor is None:
            # One deflate context per connection: the client keeps one inflate context for the whole stream.
            self._compressor = zlib.compressobj()
        chunk = self._compressor.compress(raw) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        await self.ws.send_bytes(chunk)
        self.compressed_frames += 1

    async def dispatch(self, event: str, data: Json) -> int:
        """Send a DISPATCH (op 0) event with the next sequence number; return that number."""
        self.sequence += 1
        await self.send({"op": 0, "t": event, "s": self.sequence, "d": data})
        return self.sequence


class FakeGateway:
    """The /gateway websocket: HELLO, IDENTIFY → READY (+ GUILD_CREATE), heartbeats, RESUME."""

    def __init__(self, *, token: str, bot_user: Json, app_id: str, heartbeat_interval_ms: int) -> None:
        self._token = token
        self._bot_user = bot_user
        self._app_id = app_id
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self.url = ""  # set once the server knows its port
        self.guilds: list[Json] = []
        self.connections: list[GatewayConnection] = []
        self.problems: list[str] = []
        self._ready = asyncio.Event()
        self._session_id = "fake-session-1"

    async def wait_ready(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 (simple test API)
        """Wait until a client has identified and been sent READY."""
        async with asyncio.timeout(timeout):
            await self._ready.wait()

    @property
    def active(self) -> GatewayConnection:
        """The newest identified, still open connection."""
        for conn in reversed(self.connections):
            if conn.identify is not None and not conn.ws.closed:
                return conn
        raise RuntimeError("no identified gateway client is connected (did the client connect?)")

    async def dispatch(self, event: str, data: Json) -> int:
        """Send an event to the connected client; return its sequence number."""
        return await self.active.dispatch(event, data)

    async def close_all(self) -> None:
        """Close every open websocket (used when the fake shuts down)."""
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.ws.close(code=1000)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for the websocket endpoint."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = GatewayConnection(ws=ws, query=dict(request.query))
        self.connections.append(conn)
        if not await self._check_options(conn):
            return ws
        await conn.send({"op": 10, "d": {"heartbeat_interval": self._heartbeat_interval_ms}})
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await self._on_payload(conn, json.loads(msg.data))
            elif msg.type is WSMsgType.BINARY:
                self.problems.append("client sent a binary frame (discord.py sends JSON text)")
        if conn is self.connections[-1]:
            self._ready.clear()
        return ws

    async def _check_options(self, conn: GatewayConnection) -> bool:
        """Refuse encodings/compressions we do not implement, loudly, instead of sending garbage."""
        encoding = conn.query.get("encoding", "json")
        if encoding == "json" and conn.compression in (None, "zlib-stream"):
            return True
        self.problems.append(f"unsupported gateway options encoding={encoding} compress={conn.compression}")
        await conn.ws.close(code=CLOSE_UNKNOWN_ERROR, message=b"unsupported encoding or compression")
        return False

    async def _on_payload(self, conn: GatewayConnection, payload: Json) -> None:
        op = payload.get("op")
        conn.received_ops.append(op if isinstance(op, int) else -1)
        if op == 1:
            conn.heartbeats += 1
            await conn.send({"op": 11})
        elif op == 2:
            await self._identify(conn, payload["d"])
        elif op == 6:
            await self._resume(conn, payload["d"])
        elif op == 8:
            await self._send_member_chunk(conn, payload["d"])
        elif op not in (3, 4):
            self.problems.append(f"unexpected gateway op {op}")

    async def _identify(self, conn: GatewayConnection, data: Json) -> None:
        if data.get("token") != self._token:
            self.problems.append("IDENTIFY with a wrong token")
            await conn.ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        # Keep what the client asked for, never the token itself.
        conn.identify = {k: v for k, v in data.items() if k != "token"}
        ready = self._ready_payload()
        if "shard" in data:  # Discord echoes the shard a session identified as
            ready["shard"] = data["shard"]
        await conn.dispatch("READY", ready)
        for guild in self.guilds:
            await conn.dispatch("GUILD_CREATE", guild)
        self._ready.set()

    def _ready_payload(self) -> Json:
        return {
            "v": 10,
            "user": self._bot_user,
            "guilds": [{"id": g["id"], "unavailable": True} for g in self.guilds],
            "session_id": self._session_id,
            "resume_gateway_url": self.url,
            "application": {"id": self._app_id, "flags": 0},
            "private_channels": [],
            "relationships": [],
        }

    async def _resume(self, conn: GatewayConnection, data: Json) -> None:
        if data.get("token") != self._token or data.get("session_id") != self._session_id:
            await conn.send({"op": 9, "d": False})
            return
        conn.identify = {"resumed_from_seq": data.get("seq")}
        conn.sequence = int(data.get("seq") or 0)
        await conn.dispatch("RESUMED", {})
        self._ready.set()

    async def _send_member_chunk(self, conn: GatewayConnection, data: Json) -> None:
        chunk = {"guild_id": data["guild_id"], "members": [], "chunk_index": 0, "chunk_count": 1}
        if "nonce" in data:
            chunk["nonce"] = data["nonce"]
        await conn.dispatch("GUILD_MEMBERS_CHUNK", chunk)


@dataclass(frozen=True)
class FakeInteraction:
    """An interaction the fake sent; pass it to `wait_for_response`."""

    id: str
    token: str
    type: int
    payload: Json


class HasMessage(Protocol):
    """Anything carrying the message the bot created (RecordedResponse does)."""

    @property
    def message(self) -> Json | None: ...


def _option_type(value: Any) -> int:
    """Discord option type for a Python value when the command definition is unknown."""
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 11 if isinstance(value, dict) else 3


class InteractionDriver:
    """Test-side actions that reach the bot as INTERACTION_CREATE events; FakeDiscord builds on it."""

    def __init__(self, gateway: FakeGateway, app_id: str, bot_user: Json) -> None:
        self.gateway = gateway
        self.app_id = app_id
        self.bot_user = bot_user
        self.ids = Snowflakes()
        self.default_user = user_payload("200000000000000001", "tester")
        self.global_commands: list[Json] = []
        self.guild_commands: dict[str, list[Json]] = {}
        self._dm_channels: dict[str, str] = {}
        self._guild_channels: dict[str, Json] = {}

    def _track(self, interaction: FakeInteraction, message: Json | None) -> None:
        """Hook: remember an interaction before it is sent, so its responses can be matched."""
        raise NotImplementedError

    @property
    def registered_commands(self) -> list[Json]:
        """Every synced command, global first, then guild commands (which carry `guild_id`)."""
        return self.global_commands + [c for cmds in self.guild_commands.values() for c in cmds]

    def make_user(self, user_id: str | None = None, username: str = "tester") -> Json:
        """A user object for `user=` arguments."""
        return user_payload(user_id or self.ids.next(), username)

    def make_message(
        self,
        content: str = "",
        *,
        author: Json | None = None,
        channel_id: str | None = None,
        attachments: list[Json] | None = None,
    ) -> Json:
        """A message object (e.g. the target of a message command)."""
        return {
            "id": self.ids.next(),
            "channel_id": channel_id or self._dm_channel(self.default_user),
            "type": 0,
            "content": content,
            "author": author or self.default_user,
            "attachments": attachments or [],
            "embeds": [],
            "components": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "flags": 0,
            "timestamp": iso_now(),
            "edited_timestamp": None,
        }

    def add_guild(self, name: str = "Test Guild", guild_id: str | None = None) -> str:
        """Make the bot a member of a guild (sent as GUILD_CREATE after READY); return the guild id."""
        guild_id = guild_id or self.ids.next()
        channel = text_channel_payload(self.ids.next(), guild_id)
        self._guild_channels[guild_id] = channel
        self.gateway.guilds.append(guild_payload(guild_id, name, [channel]))
        return guild_id

    async def slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: Json | None = None,
        guild_id: str | None = None,
        attachments: list[Json] | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Send a chat-input command; attachment options take an `add_attachment` dict (or its id)."""
        command = self._find_command(name, 1, guild_id)
        resolved: Json = {"attachments": {a["id"]: a for a in attachments or []}}
        wire_options = [
            self._wire_option(command, key, value, resolved) for key, value in (options or {}).items()
        ]
        data: Json = {"id": command["id"] if command else self.ids.next(), "name": name, "type": 1}
        data |= {"options": wire_options, "resolved": resolved}
        if command and "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        return await self._send_interaction(2, data, user=user, guild_id=guild_id, locale=locale)

    def _wire_option(self, command: Json | None, name: str, value: Any, resolved: Json) -> Json:
        declared = {o["name"]: o["type"] for o in (command or {}).get("options", [])}
        kind = declared.get(name) or _option_type(value)
        if kind == 11:
            attachment = value if isinstance(value, dict) else resolved["attachments"].get(str(value))
            if attachment is None:
                raise ValueError(f"option {name!r}: pass an add_attachment() dict or list it in attachments=")
            resolved["attachments"][attachment["id"]] = attachment
            value = attachment["id"]
        return {"name": name, "type": kind, "value": value}

    def _find_command(self, name: str, kind: int, guild_id: str | None) -> Json | None:
        candidates = self.guild_commands.get(guild_id, []) if guild_id else []
        for command in candidates + self.global_commands:
            if command["name"] == name and command["type"] == kind:
                return command
        return None

    async def message_command(
        self,
        name: str,
        target_message: Json | None = None,
        *,
        user: Json | None = None,
        guild_id: str | None = None,
    ) -> FakeInteraction:
        """Send a message context-menu command aimed at `target_message` (a fresh one if omitted)."""
        target = target_message or self.make_message("target")
        command = self._find_command(name, 3, guild_id)
        data: Json = {"id": command["id"] if command else self.ids.next(), "name": name, "type": 3}
        data |= {"target_id": target["id"], "resolved": {"messages": {target["id"]: target}}}
        return await self._send_interaction(2, data, user=user, guild_id=guild_id)

    async def modal_submit(
        self,
        custom_id: str,
        values: Mapping[str, str],
        *,
        user: Json | None = None,
        guild_id: str | None = None,
    ) -> FakeInteraction:
        """Submit a modal: `values` maps each text input's custom_id to what the user typed."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        return await self._send_interaction(5, data, user=user, guild_id=guild_id)

    async def press_button(
        self,
        message: Json | HasMessage,
        custom_id: str,
        *,
        user: Json | None = None,
        guild_id: str | None = None,
    ) -> FakeInteraction:
        """Click a button on a message the bot sent (a message dict or a RecordedResponse)."""
        target = message if isinstance(message, dict) else message.message
        if target is None:
            raise ValueError("that response created no message to click on")
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._send_interaction(3, data, user=user, guild_id=guild_id, message=target)

    async def _send_interaction(
        self,
        kind: int,
        data: Json,
        *,
        user: Json | None,
        guild_id: str | None,
        locale: str = "en-US",
        message: Json | None = None,
    ) -> FakeInteraction:
        payload: Json = {"id": self.ids.next(), "application_id": self.app_id, "type": kind, "data": data}
        payload |= {"token": f"fake-interaction-{uuid.uuid4().hex}", "version": 1, "locale": locale}
        payload |= {"attachment_size_limit": 25 * 1024 * 1024, "app_permissions": ALL_PERMISSIONS}
        payload |= {"entitlements": [], **self._context(user or self.default_user, guild_id)}
        if message is not None:
            payload["message"] = message
        interaction = FakeInteraction(payload["id"], payload["token"], kind, payload)
        self._track(interaction, message)
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return interaction

    def _context(self, user: Json, guild_id: str | None) -> Json:
        """Where an interaction happens: a DM (`user`) or a guild channel (`member` + `guild_id`)."""
        if guild_id is None:
            channel = dm_channel_payload(self._dm_channel(user), user)
            return {
                "user": user,
                "channel": channel,
                "channel_id": channel["id"],
                "context": 1,
                "authorizing_integration_owners": {"1": user["id"]},
            }
        channel = self._guild_channels.get(guild_id) or text_channel_payload(self.ids.next(), guild_id)
        self._guild_channels[guild_id] = channel
        guild = {"id": guild_id, "locale": "en-US", "features": []}
        return {
            "member": member_payload(user),
            "guild_id": guild_id,
            "guild": guild,
            "guild_locale": "en-US",
            "channel": channel,
            "channel_id": channel["id"],
            "context": 0,
            "authorizing_integration_owners": {"0": guild_id},
        }

    def _dm_channel(self, user: Json) -> str:
        return self._dm_channels.setdefault(user["id"], self.ids.next())
