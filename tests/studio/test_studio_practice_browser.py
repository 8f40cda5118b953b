"""The practice tools and the guard in headless chromium: tempo, loop, transpose,
written-for, vary, print view; and a page on another port that tries to keep a tune."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from tests.studio.serve import serve_studio  # noqa: E402
from tests.studio.test_studio_browser import CHROMIUM, DRIVER, generate, open_browser, pytestmark  # noqa: F401


@pytest.fixture(scope="module")
def studio(tiny_run, tiny_tunes, tmp_path_factory):
    """The studio on a free port, with every API request it was asked recorded."""
    from musicgen.studio.app import create_app
    from musicgen.studio.engine import Engine
    from musicgen.studio.tunebook import Tunebook

    book = Tunebook(tmp_path_factory.mktemp("practice") / "book.sqlite")
    engine = Engine(tiny_run, list(tiny_tunes))
    asked: list[tuple[str, dict]] = []
    app = None  # the studio, made once the port (and so the guard's policy) is known

    def make(policy):
        nonlocal app
        app = create_app(engine, book, policy)
        return recording

    async def recording(scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            asked.append((scope["path"], json.loads(body or b"{}")))
        except ValueError:
            asked.append((scope["path"], {}))

        replayed = []

        async def replay():  # the body once, then the client's own messages (disconnect)
            if replayed:
                return await receive()
            replayed.append(True)
            return {"type": "http.request", "body": body, "more_body": False}

        return await app(scope, replay, send)

    with serve_studio(make) as url:
        yield f"{url}/", book, asked


def last(asked, path):
    return next(body for p, body in reversed(asked) if p == path)


def test_tempo_loop_count_in_transpose_and_written_for(studio, tmp_path):
    url, _, asked = studio
    browser = open_browser(tmp_path)
    wait = WebDriverWait(browser, 30)
    try:
        (card,) = generate(browser, url, n=1, seed=1, meter="6/8")
        browser.execute_script(
            "arguments[0].value = 50; arguments[0].dispatchEvent(new Event('input'));",
            card.find_element(By.CSS_SELECTOR, ".tempo"),
        )
        browser.find_element(By.ID, "count-in").click()
        # a click on the first note picks bar 1; loop on
        wait.until(lambda b: b.execute_script("return !!arguments[0].layout", card))
        note = card.find_element(By.CSS_SELECTOR, ".score svg .abcjs-note")
        ActionChains(browser).move_to_element(note).click().perform()  # abcjs listens on the svg
        assert (
            Select(card.find_element(By.CSS_SELECTOR, ".loop")).first_selected_option.text == "bars"
        )
        assert card.get_attribute("data-selected") == "1-1"
        assert card.find_elements(By.CSS_SELECTOR, ".score .selected")
        card.find_element(By.CSS_SELECTOR, ".looping").click()
        card.find_element(By.CSS_SELECTOR, ".play").click()
        wait.until(lambda b: card.get_attribute("data-playing") == "1")
        body = last(asked, "/api/render/wav")
        assert body["speed"] == 0.5 and body["count_in"] is True and body["bars"] == [1, 1]
        assert float(card.get_attribute("data-count-in")) > 0
        wait.until(lambda b: int(card.get_attribute("data-loops") or 0) >= 1)  # round again
        card.find_element(By.CSS_SELECTOR, ".stop").click()
        # transpose up a tone: the text is rewritten, the score re-engraved, audio follows
        text = card.find_element(By.CSS_SELECTOR, "textarea.abc")
        before = text.get_attribute("value")
        field = card.find_element(By.CSS_SELECTOR, ".transpose")
        field.clear()
        field.send_keys("2\t")
        wait.until(lambda b: text.get_attribute("value") != before)
        assert last(asked, "/api/transpose")["semitones"] == 2
        # written for B-flat: the score shows the tune a tone higher still, the text stays
        concert = text.get_attribute("value")
        Select(browser.find_element(By.ID, "written-for")).select_by_value("Bb")
        wait.until(lambda b: card.get_attribute("data-shown") != concert)
        assert last(asked, "/api/layout")["transpose"] == 2
        assert text.get_attribute("value") == concert
        assert "for=Bb" in browser.find_element(By.ID, "print-book").get_attribute("href")
    finally:
        browser.quit()


def test_vary_shows_variants_and_one_is_used(studio, tmp_path):
    url, _, asked = studio
    browser = open_browser(tmp_path)
    wait = WebDriverWait(browser, 60)
    try:
        (card,) = generate(browser, url, n=1, seed=2, meter="6/8")
        for name, value in ((".from", "2"), (".to", "3")):
            field = card.find_element(By.CSS_SELECTOR, name)
            field.clear()
            field.send_keys(value)
        card.find_element(By.CSS_SELECTOR, ".vary").click()
        wait.until(lambda b: card.find_elements(By.CSS_SELECTOR, ".variant svg"))
        assert {k: last(asked, "/api/vary")[k] for k in ("first", "last")} == {
            "first": 2,
            "last": 3,
        }
        variants = card.find_elements(By.CSS_SELECTOR, ".variant")
        variants[0].find_element(By.CSS_SELECTOR, ".play-variant").click()
        wait.until(lambda b: variants[0].get_attribute("data-playing") == "1")
        variants[0].find_element(By.CSS_SELECTOR, ".use").click()
        assert not card.find_elements(By.CSS_SELECTOR, ".variant")
    finally:
        browser.quit()


def test_print_view_engraves_the_tunebook_and_hides_controls_on_paper(studio, tmp_path):
    url, book, _ = studio
    from tests.conftest import JIG, REEL

    book.keep(JIG)
    book.keep(REEL)
    browser = open_browser(tmp_path)
    try:
        browser.get(url + "print?for=F")
        WebDriverWait(browser, 20).until(
            lambda b: len(b.find_elements(By.CSS_SELECTOR, ".print-tune svg")) >= 2
        )
        assert browser.find_element(By.ID, "print-now").is_displayed()
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        assert not browser.find_element(By.ID, "print-now").is_displayed()
        browser.get(url)
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        assert not browser.find_element(By.ID, "controls").is_displayed()
    finally:
        browser.quit()


def test_a_page_on_another_port_cannot_keep_a_tune(studio, tmp_path):
    url, book, _ = studio
    before = len(book.search())
    page = f"""<!doctype html><script>
    const body = JSON.stringify({{abc: "X:1\\nT:Evil\\nM:C\\nL:1/8\\nK:C\\nCDEF GABc|"}});
    Promise.allSettled([
      fetch("{url}api/tunebook",
        {{method: "POST", headers: {{"Content-Type": "text/plain"}}, body, mode: "no-cors"}}),
      fetch("{url}api/tunebook",
        {{method: "POST", headers: {{"Content-Type": "application/json"}}, body}}),
    ]).then((r) => {{ document.title = r.map((x) => x.status).join(","); }});
    </script>"""

    class Evil(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page.encode())

        def log_message(self, *args):
            pass

    evil = ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    browser = open_browser(tmp_path)
    try:
        browser.get(f"http://127.0.0.1:{evil.server_address[1]}/")
        WebDriverWait(browser, 20).until(lambda b: "," in b.title)
        assert browser.title.endswith("rejected")  # the JSON one: no CORS, refused
        time.sleep(0.3)
        assert len(book.search()) == before
        assert "Evil" not in {t["title"] for t in book.search()}
    finally:
        browser.quit()
        evil.shutdown()
