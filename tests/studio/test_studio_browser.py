"""End to end in a real headless browser: Debian's chromium driven by selenium.

Skipped, with the reason, where chromium or chromedriver is not installed (.ci/run
installs both).  The studio runs under uvicorn in a thread on a free localhost port.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import mido
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None or not Path(DRIVER).exists(),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver)",
    ),
]
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from tests.studio.serve import serve_studio  # noqa: E402


@pytest.fixture(scope="module")
def studio_url(tiny_run, tiny_tunes, tmp_path_factory):
    from musicgen.studio.app import create_app
    from musicgen.studio.engine import Engine
    from musicgen.studio.tunebook import Tunebook

    book = Tunebook(tmp_path_factory.mktemp("studio") / "book.sqlite")
    engine = Engine(tiny_run, list(tiny_tunes))
    with serve_studio(lambda policy: create_app(engine, book, policy)) as url:
        yield f"{url}/"


def open_browser(download_dir: Path, width: int = 1200, height: int = 1400):
    """Headless chromium; autoplay allowed (no user gesture in a test); downloads to a dir."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(download_dir), "download.prompt_for_download": False},
    )
    return webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=DRIVER), options=options
    )


def generate(browser, url: str, n: int, seed: int, meter: str = "") -> list:
    browser.get(url)
    form = browser.find_element(By.ID, "generate-form")
    for name, value in (("n", n), ("seed", seed)):
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(str(value))
    if meter:
        Select(form.find_element(By.NAME, "meter")).select_by_visible_text(meter)
    browser.find_element(By.ID, "generate").click()
    wait = WebDriverWait(browser, 60)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#tunes .tune .score svg")) == n)
    return browser.find_elements(By.CSS_SELECTOR, "#tunes .tune")


def test_generate_see_play_and_download_midi(studio_url, tmp_path):
    browser = open_browser(tmp_path)
    try:
        cards = generate(browser, studio_url, n=2, seed=1)
        assert len(cards) == 2
        for card in cards:  # each score is engraved as SVG with notes in it
            assert card.find_elements(By.CSS_SELECTOR, ".score svg .abcjs-note")
            assert "bars" in card.find_element(By.CSS_SELECTOR, ".check").text
        first = cards[0]
        first.find_element(By.CSS_SELECTOR, ".play").click()
        WebDriverWait(browser, 30).until(
            lambda b: b.execute_script(
                "const a = arguments[0].querySelector('audio');"
                "return a.currentTime > 0 && a.src.startsWith('blob:')"
                " && Number(arguments[0].dataset.cursorEvents) > 0;",
                first,
            )
        )
        first.find_element(By.CSS_SELECTOR, ".stop").click()
        first.find_element(By.CSS_SELECTOR, ".dl[data-fmt=mid]").click()
        deadline = time.monotonic() + 20
        while not list(tmp_path.glob("*.mid")) and time.monotonic() < deadline:
            time.sleep(0.1)
        (midi_path,) = tmp_path.glob("*.mid")
        midi = mido.MidiFile(str(midi_path))
        assert sum(m.type == "note_on" and m.velocity > 0 for m in midi) > 0
        assert midi.length > 0
    finally:
        browser.quit()


def test_keep_and_find_in_the_tunebook(studio_url, tmp_path):
    browser = open_browser(tmp_path)
    try:
        (card,) = generate(browser, studio_url, n=1, seed=4)
        card.find_element(By.CSS_SELECTOR, ".keep").click()
        WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#kept li"))
        title = browser.find_element(By.CSS_SELECTOR, "#kept li .title").get_attribute("value")
        assert title.endswith("No. 1")
        export = browser.execute_async_script(
            "fetch(document.getElementById('export').href)"
            ".then(r => r.text()).then(arguments[arguments.length - 1]);"
        )
        assert export.startswith("X:1\nT:" + title)
    finally:
        browser.quit()


def test_edit_rerenders_and_continue_samples_a_new_ending(studio_url, tmp_path):
    browser = open_browser(tmp_path)
    try:
        (card,) = generate(browser, studio_url, n=1, seed=5)
        text = card.find_element(By.CSS_SELECTOR, "textarea.abc")
        start = "X:1\nT:Edited\nM:6/8\nL:1/8\nK:G Major\n|:GAB c2d|"
        browser.execute_script(
            "arguments[0].value = arguments[1];arguments[0].dispatchEvent(new Event('input'));",
            text,
            start,
        )
        wait = WebDriverWait(browser, 30)
        wait.until(lambda b: "Edited" in card.find_element(By.CSS_SELECTOR, ".score svg").text)
        card.find_element(By.CSS_SELECTOR, ".continue").click()
        wait.until(lambda b: len(text.get_attribute("value")) > len(start))
        assert text.get_attribute("value").startswith(start)
    finally:
        browser.quit()


@pytest.mark.skipif(
    not os.environ.get("STUDIO_SCREENSHOT"), reason="make screenshot sets STUDIO_SCREENSHOT"
)
def test_screenshot_of_the_bundled_model(tmp_path):
    """Write the README's screenshot (a PNG at $STUDIO_SCREENSHOT) with checkpoints/default."""

    from musicgen.abc.corpus import read_corpus
    from musicgen.studio.app import create_app
    from musicgen.studio.engine import Engine
    from musicgen.studio.tunebook import Tunebook
    from tests.conftest import CORPUS, JIG

    repo = Path(__file__).resolve().parents[2]
    engine = Engine(repo / "checkpoints" / "default", list(read_corpus([CORPUS]).tunes))
    book = Tunebook(tmp_path / "book.sqlite")
    book.update(book.keep(JIG)["id"], starred=True)
    with serve_studio(lambda policy: create_app(engine, book, policy)) as url:
        _screenshot(tmp_path, f"{url}/")


def _screenshot(tmp_path: Path, url: str) -> None:
    browser = open_browser(tmp_path, width=1200, height=1000)
    try:
        generate(browser, url, 2, 3, meter="6/8")
        path = Path(os.environ["STUDIO_SCREENSHOT"])
        path.parent.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(path))
    finally:
        browser.quit()
