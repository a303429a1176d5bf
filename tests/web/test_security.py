"""The page's defences, over plain HTTP: headers, the sign-in exchange, and refusing cross-site or token-less
changes. (The browser tests check the same from inside Chromium.)"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.workers_ai import CONTENT_FILTER, SPENT, Behaviour
from tests.web.conftest import CF_TOKEN, KEYS, LiveApp, serving


@pytest.fixture
def client(live: LiveApp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.base_url, trust_env=False, timeout=30) as http:
        yield http


def events(stream: str) -> list[dict[str, object]]:
    """The JSON of each ``data:`` line of a server-sent event stream."""
    return [json.loads(line[5:]) for line in stream.splitlines() if line.startswith("data:")]


def signed_in(client: httpx.Client, name: str = "demo") -> str:
    """Sign ``client`` in; returns the session's CSRF token."""
    response = client.post("/web/api/session", json={"key": KEYS[name]})
    assert response.status_code == 200
    return str(response.json()["csrf"])


def test_the_page_has_a_content_security_policy_refuses_framing_and_holds_no_key(
    client: httpx.Client,
) -> None:
    for path in ("/", "/web/static/app.js", "/web/api/session"):
        response = client.get(path)
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
    signed_in(client)
    page = client.get("/").text
    for key in KEYS.values():
        assert key not in page
    assert "sk-" not in page


def test_the_page_speaks_the_browsers_language(client: httpx.Client) -> None:
    german = client.get("/", headers={"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"}).text
    assert '<html lang="de">' in german and "API-Schlüssel" in german
    japanese = client.get("/", headers={"Accept-Language": "ja"}).text
    assert "サインイン" in japanese
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "pt-BR"}).text


def test_signing_in_sets_an_httponly_same_site_cookie_and_never_echoes_the_key(client: httpx.Client) -> None:
    response = client.post("/web/api/session", json={"key": KEYS["demo"]})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert KEYS["demo"] not in response.text and KEYS["demo"] not in response.headers["set-cookie"]
    assert client.get("/web/api/session").json()["name"] == "demo"


def test_a_wrong_key_is_a_401_with_a_plain_sentence(client: httpx.Client) -> None:
    for body in ({"key": "sk-wrong"}, {"key": ""}, {}, ["x"]):
        response = client.post("/web/api/session", json=body)
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "That API key is not valid. Check it and try again."
        assert "set-cookie" not in response.headers
    assert client.get("/web/api/session").status_code == 401


def test_changes_need_the_csrf_token_and_a_same_site_origin(live: LiveApp, client: httpx.Client) -> None:
    csrf = signed_in(client)
    calls = len(live.workers.calls)
    form = {"prompt": "a cat", "ratio": "1:1"}
    refused = [
        client.post("/web/api/generate", data=form),  # no token: what a cross-site form sends
        client.post("/web/api/generate", data=form, headers={"X-CSRF-Token": "0" * 32}),
        client.post(
            "/web/api/generate", data=form, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
        ),
        client.post(
            "/web/api/generate", data=form, headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
        ),
        client.post(
            "/web/api/session", json={"key": KEYS["demo"]}, headers={"Origin": "https://evil.example"}
        ),
        client.delete("/web/api/session"),
    ]
    assert [r.status_code for r in refused] == [403] * 6
    assert refused[2].json()["error"]["message"] == "This request came from another site and was refused."
    assert len(live.workers.calls) == calls
    # The same request from our own page goes through.
    own = client.post(
        "/web/api/generate", data=form | {"raw": "1"}, headers={"X-CSRF-Token": csrf, "Origin": live.base_url}
    )
    assert own.status_code == 200 and own.headers["content-type"].startswith("text/event-stream")
    assert [event["type"] for event in events(own.text)] == ["progress", "result"]
    assert len(live.workers.calls) == calls + 1


def test_without_a_session_nothing_but_the_page_answers(live: LiveApp, client: httpx.Client) -> None:
    client.cookies.set("imagine_session", "forged.1.2.3")
    for method, path in (
        ("GET", "/web/api/history"),
        ("GET", "/web/api/accounts"),
        ("GET", "/web/api/session"),
    ):
        assert client.request(method, path).status_code == 401


def test_only_admin_keys_see_the_accounts(client: httpx.Client) -> None:
    signed_in(client, "demo")
    assert client.get("/web/api/accounts").status_code == 403
    signed_in(client, "admin")
    accounts = client.get("/web/api/accounts").json()
    assert accounts["free_neurons"] == 10_000
    assert [a["state"] for a in accounts["accounts"]] == ["healthy"]
    assert "SECRET" not in str(accounts)


def test_bad_input_is_told_before_anything_runs(live: LiveApp, client: httpx.Client) -> None:
    csrf = signed_in(client)
    headers = {"X-CSRF-Token": csrf}
    calls = len(live.workers.calls)
    bad_seed = client.post("/web/api/generate", data={"prompt": "a cat", "seed": "abc"}, headers=headers)
    assert bad_seed.status_code == 400
    assert bad_seed.json()["error"]["message"] == "The seed must be a whole number from 0 to 4294967295."
    png = b"\x89PNG\r\n\x1a\n"
    five = [("references", (f"r{i}.png", png, "image/png")) for i in range(5)]
    too_many = client.post("/web/api/generate", data={"prompt": "a cat"}, files=five, headers=headers)
    assert too_many.status_code == 400
    assert "At most 4 reference images" in too_many.json()["error"]["message"]
    empty = client.post("/web/api/generate", data={"prompt": " "}, headers=headers)
    [error] = events(empty.text)
    assert error["type"] == "error" and "prompt is empty" in str(error["message"])
    assert len(live.workers.calls) == calls
    nine = [("references", (f"r{i}.png", png, "image/png")) for i in range(9)]
    flood = client.post("/web/api/generate", data={"prompt": "a cat"}, files=nine, headers=headers)
    assert flood.status_code == 400 and "At most 4 reference images" in flood.json()["error"]["message"]


def test_an_image_still_painting_when_the_page_goes_away_is_kept_for_the_history(
    live: LiveApp, client: httpx.Client
) -> None:
    csrf = signed_in(client)
    live.on_loop(live.provider.hold)
    headers = {"X-CSRF-Token": csrf}
    try:
        with client.stream(
            "POST", "/web/api/generate", data={"prompt": "a paid-for fox", "raw": "1"}, headers=headers
        ) as response:
            for line in response.iter_lines():
                if "generating" in line:
                    break  # the page is closed while the image is being painted
    finally:
        live.on_loop(live.provider.open)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        jobs = client.get("/web/api/history").json()["jobs"]
        if jobs and jobs[0]["prompt"] == "a paid-for fox":
            break
        time.sleep(0.05)
    assert jobs[0]["prompt"] == "a paid-for fox" and jobs[0]["image_url"]
    image = client.get(jobs[0]["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"


def test_a_refused_prompt_ends_the_stream_with_the_chats_sentence(
    live: LiveApp, client: httpx.Client
) -> None:
    csrf = signed_in(client)
    live.call(_script(live, CONTENT_FILTER))
    stream = client.post(
        "/web/api/generate",
        data={"prompt": "something the filter dislikes", "raw": "1"},
        headers={"X-CSRF-Token": csrf, "Accept-Language": "fr-FR"},
    )
    *progress, last = events(stream.text)
    assert [event["type"] for event in progress] == ["progress"]
    assert last["type"] == "error"
    assert str(last["message"]).startswith("Le filtre de sécurité")
    assert "Traceback" not in stream.text and CF_TOKEN not in stream.text


def _script(live: LiveApp, behaviour: Behaviour) -> Callable[[], Coroutine[Any, Any, None]]:
    """Script the fake's next answer, on the app's loop where the fake lives."""

    async def script() -> None:
        live.workers.script("acc1", behaviour)

    return script


def test_without_any_key_configured_the_page_says_nobody_can_sign_in(tmp_path: Path) -> None:
    with serving(tmp_path, API_KEYS="", HTTP_PORT="0") as closed:
        page = httpx.get(closed.base_url + "/", timeout=30)
        refused = httpx.post(closed.base_url + "/web/api/session", json={"key": ""}, timeout=30)
    assert page.status_code == 200
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == (
        "This server has no API keys yet, so nobody can sign in. The operator sets API_KEYS."
    )


def test_an_admin_sees_a_spent_account_and_until_when(tmp_path: Path) -> None:
    with serving(tmp_path) as spent, httpx.Client(base_url=spent.base_url, timeout=30) as admin:
        spent.call(_script(spent, SPENT))
        csrf = signed_in(admin, "admin")
        stream = admin.post(
            "/web/api/generate", data={"prompt": "a cat", "raw": "1"}, headers={"X-CSRF-Token": csrf}
        )
        [error] = [event for event in events(stream.text) if event["type"] == "error"]
        assert "used up its image allowance" in str(error["message"])
        [account] = admin.get("/web/api/accounts").json()["accounts"]
    assert account["state"] == "spent"
    assert account["state_text"] == "daily allowance used up"
    assert account["until_text"] == "until 00:00 UTC"
