"""Debian's headless Chromium driven by Selenium: no downloads, a fresh profile per browser."""

from __future__ import annotations

import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: where the screenshots land (git ignores out/); the README and the issue note name this path
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
DESKTOP = (1280, 900)
PHONE = (390, 844)

_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def start_chromium(profile: Path, language: str = "en-US") -> webdriver.Chrome:
    """A Chromium with its own ``--user-data-dir`` that asks for pages in ``language``."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in _FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--lang={language}")
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for CSP violations
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(*DESKTOP)
    return driver


def fresh_profile() -> Path:
    return Path(tempfile.mkdtemp(prefix="imagine-chromium-"))


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """Save the whole page as ``out/screenshots/<name>.png`` (the page's full height, at the window's width)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    width = driver.get_window_size()["width"]
    height = driver.execute_script("return document.documentElement.scrollHeight")
    original = driver.get_window_size()
    driver.set_window_size(width, max(original["height"], int(height) + 140))
    driver.save_screenshot(str(path))
    driver.set_window_size(original["width"], original["height"])
    return path


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """Console errors since the last call, except the 401/403 answers the tests provoke on purpose."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE"
        and "status of 401" not in entry["message"]
        and "status of 403" not in entry["message"]
    ]
