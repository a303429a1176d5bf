"""The web UI in real headless Chromium: sign in, generate with a ratio and a reference, watch the progress,
re-roll, reuse the seed, find it all in the history, at desktop and phone width. Screenshots land in
``out/screenshots/``."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from PIL import Image
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.core.models import GenerationRequest, UserRef
from tests.web.browser import DESKTOP, PHONE, console_errors, fresh_profile, screenshot, start_chromium
from tests.web.conftest import KEYS, LiveApp

WAIT = 20
# What a drag and drop from the desktop delivers: a drop event whose DataTransfer holds an image file.
DROP_A_FILE = """
const canvas = document.createElement("canvas");
canvas.width = canvas.height = 64;
canvas.toBlob((blob) => {
  const data = new DataTransfer();
  data.items.add(new File([blob], "dropped.png", { type: "image/png" }));
  document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
});
"""


def wait_for(driver: webdriver.Chrome, what: str, check: object) -> object:
    return WebDriverWait(driver, WAIT).until(check, message=what)  # type: ignore[arg-type]


def visible(driver: webdriver.Chrome, element_id: str) -> WebElement:
    element = driver.find_element(By.ID, element_id)
    wait_for(driver, f"#{element_id} visible", lambda _: element.is_displayed())
    return element


def text_of(driver: webdriver.Chrome, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def open_page(driver: webdriver.Chrome, url: str) -> bool:
    """Load the page and wait until it knows whether it is signed in; returns whether it is."""
    driver.get(url)
    wait_for(
        driver,
        "the page to settle",
        lambda d: (
            d.find_element(By.ID, "signin").is_displayed() or d.find_element(By.ID, "app").is_displayed()
        ),
    )
    return bool(driver.find_element(By.ID, "app").is_displayed())


def sign_in(driver: webdriver.Chrome, key: str) -> None:
    field = visible(driver, "key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.ID, "signin-button").click()


def stage_classes(driver: webdriver.Chrome) -> dict[str, str]:
    items = driver.find_elements(By.CSS_SELECTOR, "#stages li")
    return {item.get_attribute("data-stage") or "": item.get_attribute("class") or "" for item in items}


def wait_for_result(driver: webdriver.Chrome, previous_seed: str = "") -> str:
    wait_for(
        driver,
        "a new result",
        lambda d: (
            d.find_element(By.ID, "meta").is_displayed()
            and text_of(d, "meta-seed") not in ("", previous_seed)
            and d.execute_script("return document.getElementById('image').complete")
        ),
    )
    return text_of(driver, "meta-seed")


def reference_png(tmp_path: Path) -> Path:
    path = tmp_path / "reference.png"
    Image.new("RGB", (300, 200), "teal").save(path)
    return path


def test_a_new_user_signs_in_generates_rerolls_and_finds_it_all_in_the_history(
    live: LiveApp, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    driver = browser
    driver.set_window_size(*DESKTOP)
    assert not open_page(driver, live.base_url + "/")
    screenshot(driver, "desktop-signin")

    # A wrong key is refused with a plain sentence, and the form stays.
    sign_in(driver, "sk-not-a-key")
    error = visible(driver, "signin-error")
    assert error.text == "That API key is not valid. Check it and try again."
    assert driver.find_element(By.ID, "app").is_displayed() is False

    sign_in(driver, KEYS["demo"])
    visible(driver, "app")
    assert text_of(driver, "who") == "demo"
    assert driver.find_element(By.ID, "accounts").is_displayed() is False  # not an admin

    # Ratio 16:9 with its size, and one reference by the picker, previewed.
    driver.find_element(By.CSS_SELECTOR, '#ratios [data-ratio="16:9"]').click()
    assert text_of(driver, "size-readout") == "1360 × 768 px"
    driver.find_element(By.ID, "files").send_keys(str(reference_png(tmp_path)))
    wait_for(driver, "one preview", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#previews img")) == 1)
    # A second one dropped on the drop zone is previewed too, and can be taken out again.
    driver.execute_script(DROP_A_FILE)
    wait_for(driver, "two previews", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#previews img")) == 2)
    driver.find_elements(By.CSS_SELECTOR, "#previews button")[1].click()
    assert len(driver.find_elements(By.CSS_SELECTOR, "#previews img")) == 1
    driver.find_element(By.ID, "prompt").send_keys("a lighthouse in a storm")

    # Someone else of the same key is painting: this one waits in line, then is polished and painted.
    live.on_loop(live.provider.hold)
    user = UserRef("api", "demo")
    first = live.start(lambda: live.app.service.generate(GenerationRequest(user, "a quiet harbour --raw")))
    wait_for(driver, "the other job at the provider", lambda _: live.provider.waiting == 1)
    driver.find_element(By.ID, "generate").click()
    wait_for(driver, "queue position", lambda d: text_of(d, "status") == "You're number 1 in line…")
    assert "active" in stage_classes(driver)["queued"]
    screenshot(driver, "desktop-queued")
    live.on_loop(live.provider.release)
    first.result(timeout=WAIT)
    wait_for(driver, "painting", lambda d: text_of(d, "status") == "Painting your image…")
    assert "done" in stage_classes(driver)["optimising"]
    live.on_loop(live.provider.open)
    seed = wait_for_result(driver)

    stages = stage_classes(driver)
    assert all("done" in stages[name] for name in ("queued", "optimising", "generating", "done")), stages
    final = text_of(driver, "meta-final")
    assert text_of(driver, "meta-prompt") == "a lighthouse in a storm"
    assert final == live.workers.chat_answer  # the optimiser's rewrite
    assert text_of(driver, "meta-size") == "1360 × 768"
    size = driver.execute_script(
        "const i = document.getElementById('image'); return [i.naturalWidth, i.naturalHeight]"
    )
    assert size == [1360, 768]
    call = live.workers.calls[-1]
    assert len(call.reference_sizes) == 1 and (call.width, call.height) == (1360, 768)
    download = driver.find_element(By.ID, "download")
    assert download.get_attribute("download") == f"imagine-{seed}.png"
    served = httpx.get(str(download.get_attribute("href")), timeout=30)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == (1360, 768)
    screenshot(driver, "desktop-result")
    driver.find_element(By.ID, "copy").click()
    toast = wait_for(driver, "the copy toast", lambda d: d.find_elements(By.CSS_SELECTOR, ".toast"))
    assert [t.text for t in toast] == ["Prompt copied to the clipboard."]
    driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"permissions": ["clipboardReadWrite"], "origin": live.base_url}
    )
    assert driver.execute_script("return navigator.clipboard.readText()") == final

    # Re-roll: the same final prompt and size, a new seed.
    driver.find_element(By.ID, "reroll").click()
    reroll_seed = wait_for_result(driver, seed)
    assert text_of(driver, "meta-final") == final
    assert "skipped" in stage_classes(driver)["optimising"]

    # Reuse the first seed: the form takes prompt, seed and ratio back; the new image has that seed.
    history = driver.find_elements(By.CSS_SELECTOR, "#history li")
    first_item = next(li for li in history if f"Seed {seed} " in (li.get_attribute("textContent") or ""))
    first_item.find_element(By.CSS_SELECTOR, ".history-reuse").click()
    assert driver.find_element(By.ID, "seed").get_attribute("value") == seed
    assert driver.find_element(By.ID, "prompt").get_attribute("value") == "a lighthouse in a storm"
    assert (
        driver.find_element(By.CSS_SELECTOR, '#ratios [data-ratio="16:9"]').get_attribute("aria-checked")
        == "true"
    )
    driver.find_element(By.ID, "generate").click()
    reused_seed = wait_for_result(driver, reroll_seed)
    assert reused_seed == seed

    # All of them in the history, newest first, with prompt, final prompt, size, seed and model.
    wait_for(
        driver, "four in the history", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history li")) == 4
    )
    facts = [e.get_attribute("textContent") for e in driver.find_elements(By.CSS_SELECTOR, "#history .facts")]
    assert facts[0].startswith("1360 × 768 · Seed " + seed)
    assert facts[1].startswith("1360 × 768 · Seed " + reroll_seed)
    assert facts[2].startswith("1360 × 768 · Seed " + seed)
    prompts = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#history .prompt")]
    assert prompts == ["a lighthouse in a storm"] * 3 + ["a quiet harbour"]
    screenshot(driver, "desktop-history")

    # The key is nowhere in what was served or in any address the page used.
    key = KEYS["demo"]
    assert key not in driver.page_source
    assert key not in driver.current_url
    urls = driver.execute_script("return performance.getEntries().map(e => e.name)")
    assert urls and not [url for url in urls if key in url]
    assert not driver.execute_script("return document.cookie")  # HttpOnly: not readable by the page
    # Everything above ran under the page's own Content-Security-Policy without a violation or a script error.
    assert console_errors(driver) == []

    # Phone width: nothing sticks out sideways, and the form, result and history are all reachable.
    driver.set_window_size(*PHONE)
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert driver.find_element(By.ID, "generate").is_displayed()
    screenshot(driver, "phone-result")
    driver.find_element(By.ID, "theme").click()
    screenshot(driver, "phone-result-dark")
    driver.find_element(By.ID, "theme").click()
    driver.set_window_size(*DESKTOP)


def test_an_admin_sees_each_account_with_todays_neurons_against_the_free_allocation(
    live: LiveApp, browser: webdriver.Chrome
) -> None:
    driver = browser
    driver.set_window_size(*DESKTOP)
    if open_page(driver, live.base_url + "/"):
        driver.find_element(By.ID, "signout").click()
    sign_in(driver, KEYS["admin"])
    visible(driver, "accounts")
    wait_for(driver, "the account rows", lambda d: d.find_elements(By.CSS_SELECTOR, "#account-list li"))
    rows = driver.find_elements(By.CSS_SELECTOR, "#account-list li")
    assert len(rows) == 1
    assert "working" in rows[0].text
    assert "of 10,000 free neurons used today" in rows[0].text
    meter = rows[0].find_element(By.CSS_SELECTOR, ".meter")
    assert meter.get_attribute("aria-valuemax") == "10000"

    # Dark and light: the toggle flips the theme and remembers it.
    theme = driver.execute_script("return document.documentElement.dataset.theme")
    driver.find_element(By.ID, "theme").click()
    flipped = driver.execute_script("return document.documentElement.dataset.theme")
    assert {theme, flipped} == {"dark", "light"}
    assert open_page(driver, live.base_url + "/")
    wait_for(driver, "the account rows", lambda d: d.find_elements(By.CSS_SELECTOR, "#account-list li"))
    assert driver.execute_script("return document.documentElement.dataset.theme") == flipped
    if flipped != "dark":
        driver.find_element(By.ID, "theme").click()
    screenshot(driver, "desktop-admin-dark")
    driver.set_window_size(*PHONE)
    screenshot(driver, "phone-admin-dark")
    driver.set_window_size(*DESKTOP)
    driver.find_element(By.ID, "theme").click()


def test_a_form_on_another_site_cannot_make_the_signed_in_browser_generate(
    live: LiveApp, browser: webdriver.Chrome, evil_site: str
) -> None:
    driver = browser
    if not open_page(driver, live.base_url + "/"):
        sign_in(driver, KEYS["demo"])
        visible(driver, "app")
    calls = len(live.workers.calls)
    driver.get(evil_site)
    # The other site's page submits itself while loading: wait for our answer to be the page shown, not for
    # text in whatever page is current (its body can be replaced mid-read: a stale element, under load).
    wait_for(driver, "our answer", lambda d: d.current_url.startswith(live.base_url + "/web/api/generate"))
    wait_for(driver, "the refusal", lambda d: "refused" in d.find_element(By.TAG_NAME, "body").text)
    assert len(live.workers.calls) == calls


def test_the_page_speaks_the_browsers_language_at_phone_width(live: LiveApp) -> None:
    driver = start_chromium(fresh_profile(), language="de-DE")
    try:
        driver.set_window_size(*PHONE)
        assert not open_page(driver, live.base_url + "/")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Anmelden"
        sign_in(driver, "sk-falsch")
        assert visible(driver, "signin-error").text == (
            "Dieser API-Schlüssel ist ungültig. Prüfe ihn und versuche es noch einmal."
        )
        screenshot(driver, "phone-signin-de")
        sign_in(driver, KEYS["demo"])
        visible(driver, "app")
        assert driver.find_element(By.ID, "generate").text == "Erzeugen"
        assert driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0
    finally:
        driver.quit()


def test_a_second_model_on_offer_can_be_picked_with_its_steps(
    live: LiveApp, browser: webdriver.Chrome
) -> None:
    driver = browser
    driver.set_window_size(*DESKTOP)
    if not open_page(driver, live.base_url + "/"):
        sign_in(driver, KEYS["demo"])
        visible(driver, "app")
    model = Select(visible(driver, "model"))
    assert [option.get_attribute("value") for option in model.options] == ["klein", "dev"]
    assert not driver.find_element(By.ID, "steps-field").is_displayed()  # klein's steps are fixed
    model.select_by_value("dev")
    steps = visible(driver, "steps")
    assert steps.get_attribute("placeholder") == "auto (≤ 50)"
    steps.send_keys("8")
    driver.find_element(By.CSS_SELECTOR, '#ratios [data-ratio="1:1"]').click()
    prompt = driver.find_element(By.ID, "prompt")
    prompt.clear()
    prompt.send_keys("a dev-model fox --raw")
    previous = text_of(driver, "meta-seed") if driver.find_element(By.ID, "meta").is_displayed() else ""
    driver.find_element(By.ID, "generate").click()
    wait_for_result(driver, previous)
    assert text_of(driver, "meta-model") == "@cf/black-forest-labs/flux-2-dev"
    call = live.workers.calls[-1]
    assert (call.model, call.steps) == ("@cf/black-forest-labs/flux-2-dev", 8)
