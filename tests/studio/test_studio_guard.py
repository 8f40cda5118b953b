"""The studio's guard: foreign hosts, foreign origins, non-JSON writes and missing tokens
are refused with a one-line 4xx (Starlette's test client); the guard's checks alone."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("starlette")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from musicgen.studio.app import create_app  # noqa: E402
from musicgen.studio.engine import Engine  # noqa: E402
from musicgen.studio.guard import Policy, Refused, check_write, policy_for  # noqa: E402
from musicgen.studio.tunebook import Tunebook  # noqa: E402
from tests.conftest import JIG  # noqa: E402

URL = "http://127.0.0.1:8000"
EVIL = {"Origin": "http://evil.example"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def engine(tiny_run, tiny_tunes):
    return Engine(tiny_run, list(tiny_tunes))


@pytest.fixture
def book(tmp_path):
    return Tunebook(tmp_path / "book.sqlite")


def studio(engine, book, policy=None, url=URL) -> TestClient:
    app = create_app(engine, book, policy or policy_for("127.0.0.1", 8000))
    return TestClient(app, base_url=url, raise_server_exceptions=False)


def refused(answer, status: int, words: str) -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert words in error and "\n" not in error


def test_a_foreign_host_is_refused_even_for_reading(engine, book):
    book.keep(JIG)
    client = studio(engine, book, url="http://rebound.example:8000")
    refused(client.get("/api/tunebook"), 403, "Host 'rebound.example:8000' is not this server")
    refused(client.get("/"), 403, "is not this server")
    refused(client.delete("/api/tunebook/1", headers=JSON), 403, "is not this server")
    assert len(book.search()) == 1


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000"])
def test_every_loopback_name_with_the_port_is_served(engine, book, host):
    assert studio(engine, book, url=f"http://{host}").get("/api/tunebook").status_code == 200


def test_the_wrong_port_is_a_foreign_host(engine, book):
    refused(studio(engine, book, url="http://127.0.0.1:9999").get("/"), 403, "not this server")


def test_a_text_plain_post_is_refused_and_nothing_kept(engine, book):
    client = studio(engine, book)
    body = '{"abc": "X:1\\nT:Evil\\nK:C\\nCDEF|"}'
    plain = {"Content-Type": "text/plain", **EVIL}
    refused(client.post("/api/tunebook", content=body, headers=plain), 415, "application/json")
    refused(client.post("/api/tunebook", content=body), 415, "not none")
    refused(client.post("/api/generate", content='{"n": 1}', headers=plain), 415, "text/plain")
    assert book.search() == []


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_a_write_from_a_foreign_origin_is_refused(engine, book, method):
    tune_id = book.keep(JIG)["id"]
    client = studio(engine, book)
    path = "/api/tunebook" if method == "POST" else f"/api/tunebook/{tune_id}"
    answer = client.request(method, path, json={"abc": JIG, "title": "x"}, headers=EVIL)
    refused(answer, 403, "Origin 'http://evil.example' may not write")
    refused(client.request(method, path, json={}, headers={"Origin": "null"}), 403, "Origin")
    assert [t["title"] for t in book.search()] == ["Tiny Jig"]


def test_the_pages_own_origin_may_write(engine, book):
    client = studio(engine, book)
    answer = client.post("/api/tunebook", json={"abc": JIG}, headers={"Origin": URL})
    assert answer.status_code == 201


def test_a_token_is_required_when_set_and_the_query_sets_a_cookie(engine, book):
    policy = Policy(policy_for("127.0.0.1", 8000).hosts, "s3cret")
    client = studio(engine, book, policy)
    refused(client.get("/api/tunebook"), 401, "needs its token")
    refused(client.get("/api/tunebook?token=wrong"), 401, "wrong token")
    refused(client.get("/", headers={"X-Musicgen-Token": "nope"}), 401, "wrong token")
    assert client.get("/api/tunebook", headers={"X-Musicgen-Token": "s3cret"}).status_code == 200
    bearer = {"Authorization": "Bearer s3cret", **JSON}
    assert client.post("/api/tunebook", json={"abc": JIG}, headers=bearer).status_code == 201
    page = client.get("/?token=s3cret")
    assert page.status_code == 200 and "SameSite=Strict" in page.headers["set-cookie"]
    assert client.get("/api/tunebook").status_code == 200  # the cookie now carries it


def test_a_wildcard_bind_serves_any_host_but_needs_the_token(engine, book):
    policy = policy_for("0.0.0.0", 8000, "tok")
    assert policy.hosts == frozenset()
    client = studio(engine, book, policy, url="http://192.0.2.7:8000")
    refused(client.get("/api/tunebook"), 401, "token")
    assert client.get("/api/tunebook?token=tok").status_code == 200


def test_check_write_alone():
    check_write("GET", {})  # reads need nothing
    check_write("POST", {"content-type": "application/json; charset=utf-8", "host": "h:1"})
    with pytest.raises(Refused, match="415|application/json"):
        check_write("PUT", {"content-type": "application/x-www-form-urlencoded"})
    with pytest.raises(Refused) as caught:
        check_write(
            "POST", {"content-type": "application/json", "host": "h:1", "origin": "https://h:2"}
        )
    assert caught.value.status == 403


def test_policy_for_names_the_bound_address():
    assert policy_for("127.0.0.1", 5000).hosts >= {"localhost:5000", "[::1]:5000"}
    assert policy_for("192.0.2.7", 80).hosts == {"192.0.2.7:80", "192.0.2.7"}


def test_studio_refuses_a_public_host_without_a_token(tmp_path):
    from click.testing import CliRunner

    from musicgen.cli import main

    result = CliRunner().invoke(main, ["studio", "--run", str(tmp_path), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--token auto" in result.output
