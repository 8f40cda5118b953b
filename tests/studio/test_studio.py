"""The studio's JSON API through Starlette's test client, over the tiny run dir."""

from __future__ import annotations

import io
import warnings

import mido
import pytest
from click.testing import CliRunner

pytest.importorskip("starlette")
with warnings.catch_warnings():  # starlette's note that httpx will be replaced by httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from musicgen.cli import main  # noqa: E402
from musicgen.studio.app import create_app  # noqa: E402
from musicgen.studio.engine import Engine, title_of  # noqa: E402
from musicgen.studio.guard import policy_for  # noqa: E402
from musicgen.studio.tunebook import Tunebook  # noqa: E402
from tests.conftest import JIG, REEL  # noqa: E402

MAX = 400  # characters per tune: keeps the tiny model's rambling tunes short


@pytest.fixture(scope="module")
def engine(tiny_run, tiny_tunes):
    return Engine(tiny_run, list(tiny_tunes))


URL = "http://127.0.0.1:8000"  # the address the test clients "serve" from
JSON = {"Content-Type": "application/json"}


def serve(engine, path) -> TestClient:
    """A test client of a studio bound (as far as its guard knows) to 127.0.0.1:8000."""
    app = create_app(engine, Tunebook(path), policy_for("127.0.0.1", 8000))
    return TestClient(app, base_url=URL, raise_server_exceptions=False)


@pytest.fixture
def client(engine, tmp_path):
    return serve(engine, tmp_path / "book.sqlite")


def test_generate_with_a_seed_gives_the_tunes_of_musicgen_sample(client, tiny_run, tmp_path):
    answer = client.post("/api/generate", json={"n": 3, "seed": 7, "max_chars": MAX})
    assert answer.status_code == 200
    tunes = answer.json()["tunes"]
    assert len(tunes) == 3
    out = tmp_path / "cli"
    # Nothing but n, seed and max_chars on either side: every other default is shared
    # (form auto, keys drawn from the corpus), so these are the same tunes, byte for byte.
    args = ["sample", "--run", tiny_run, "-n", 3, "--seed", 7, "--max-chars", MAX]
    result = CliRunner().invoke(main, [str(a) for a in [*args, "--out", out, "--quiet"]])
    complete = [t["abc"] for t in tunes if t["complete"]]
    assert complete, "seed 7 gives complete tunes on the tiny model"
    assert result.exit_code == 0, result.output
    # all.abc: each tune ends with a newline, a blank line between tunes
    assert (out / "all.abc").read_text() == "\n".join(c.rstrip("\n") + "\n" for c in complete)
    for tune in tunes:
        assert set(tune["check"]) >= {"valid", "bars", "bars_ok", "novel", "problems"}
    again = client.post("/api/generate", json={"n": 3, "seed": 7, "max_chars": MAX}).json()
    assert again["tunes"] == tunes
    other = client.post("/api/generate", json={"n": 3, "seed": 8, "max_chars": MAX}).json()
    assert other["tunes"] != tunes


def test_meter_and_key_start_every_tune(client):
    request = {"n": 2, "seed": 1, "meter": "6/8", "key": "G Major", "max_chars": MAX}
    tunes = client.post("/api/generate", json=request).json()["tunes"]
    assert all("M:6/8\nL:1/8\nK:G Major\n" in tune["abc"] for tune in tunes)


def test_stream_reports_progress_then_the_tunes(client):
    answer = client.post("/api/generate/stream", json={"n": 4, "seed": 2, "max_chars": MAX})
    lines = [__import__("json").loads(line) for line in answer.text.splitlines()]
    assert [line["done"] for line in lines[:-1]] == [0, 1, 2, 3, 4]
    assert len(lines[-1]["tunes"]) == 4


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"n": "2"}, "n: must be a whole number, 1 or more, not '2'"),
        ({"n": True}, "n: must be a whole number"),
        ({"n": 0}, "n: must be a whole number, 1 or more, not 0"),
        ({"n": 65}, "n must be at most 64"),
        ({"seed": -1}, "seed: must be a whole number, 0 or more"),
        ({"temperature": 0}, "temperature: must be a number above 0"),
        ({"temperature": "hot"}, "temperature: must be a number"),
        ({"top_k": -3}, "top_k: must be a whole number, 0 or more"),
        ({"primer": 5}, "primer must be a string"),
        ({"primer": "M:6/8\n\u00e9"}, "characters the model never saw"),
        ({"meter": "6/8", "primer": "M:"}, "not both"),
        ({"key": "G"}, "key: needs a meter"),
        ({"key": "H Major", "meter": "6/8"}, "key: 'H Major' is not a key: give a tonic A-G"),
        ({"meter": "13/8"}, "meter: '13/8' is not one of 2/2, 3/2"),
        ({"meter": "12/8"}, "meter: '12/8': the model in"),
        ({"form": "AAAB"}, "form pattern 'AAAB'"),
        ({"bars_per_part": 40}, "bars per part must be 2..32"),
        ({"form": 8}, "form must be a string"),
        ({"colour": "red"}, "unknown field(s): colour"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_bad_generate_requests_get_a_400_with_one_line(client, body, message):
    answer = client.post("/api/generate", json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert message in error and "\n" not in error


def test_bad_bodies(client):
    assert client.post("/api/generate", content=b"{not json", headers=JSON).status_code == 400
    big = client.post("/api/generate", content=b" " * 70_000, headers=JSON)
    assert big.status_code == 413 and "limit" in big.json()["error"]
    assert client.post("/api/render/exe", json={"abc": JIG}).status_code == 404
    assert client.post("/api/render/mid", json={"abc": "X:1\nT:x\n"}).status_code == 400
    assert client.post("/api/render/mid", json={}).status_code == 400
    assert client.post("/api/continue", json={"abc": "K:G\n\u266f"}).status_code == 400


def test_render_midi_and_wav_from_posted_abc(client):
    midi = client.post("/api/render/mid", json={"abc": JIG})
    assert midi.status_code == 200 and midi.headers["content-type"] == "audio/midi"
    notes = [m for m in mido.MidiFile(file=io.BytesIO(midi.content)) if m.type == "note_on"]
    assert len(notes) >= 20  # the jig's 10-note A part, played twice
    wav = client.post("/api/render/wav", json={"abc": JIG})
    assert wav.content[:4] == b"RIFF" and float(wav.headers["x-tempo-bpm"]) > 0


def test_tunebook_round_trip(client):
    kept = client.post("/api/tunebook", json={"abc": JIG})
    assert kept.status_code == 201 and kept.json()["title"] == "Tiny Jig"
    reel = client.post("/api/tunebook", json={"abc": REEL, "title": "Mine"}).json()
    tune_id = kept.json()["id"]
    changed = client.patch(f"/api/tunebook/{tune_id}", json={"title": "Renamed", "starred": True})
    assert changed.json()["starred"] is True and changed.json()["title"] == "Renamed"
    assert [t["id"] for t in client.get("/api/tunebook?starred=1").json()["tunes"]] == [tune_id]
    assert [t["id"] for t in client.get("/api/tunebook?q=mine").json()["tunes"]] == [reel["id"]]
    export = client.get("/api/tunebook/export.abc").text
    assert "X:1\nT:Renamed\nM:6/8" in export and "X:2\nT:Mine\nM:C" in export
    assert client.get(f"/api/tunebook/{tune_id}.abc").text.startswith("X:1\nT:Renamed\n")
    midi = client.get(f"/api/tunebook/{tune_id}.mid")
    assert mido.MidiFile(file=io.BytesIO(midi.content)).length > 0
    assert client.post("/api/render/mid", json={"id": tune_id}).content == midi.content


def test_tunebook_survives_a_new_server(engine, tmp_path):
    path = tmp_path / "book.sqlite"
    first = serve(engine, path)
    first.post("/api/tunebook", json={"abc": JIG})
    second = serve(engine, path)
    assert [t["title"] for t in second.get("/api/tunebook").json()["tunes"]] == ["Tiny Jig"]


def test_unknown_ids_and_paths_are_404s_never_files(client):
    assert client.get("/api/tunebook/99").json() == {"error": "no kept tune has id 99"}
    assert client.get("/api/tunebook/99.mid").status_code == 404
    assert client.patch("/api/tunebook/99", json={"starred": True}).status_code == 404
    for path in (
        "/api/tunebook/..%2f..%2fsetup.cfg",
        "/api/tunebook/1.%2e%2e%2fapp.py",
        "/static/..%2fapp.py",
        "/static/../../setup.cfg",
    ):
        answer = client.get(path)
        assert answer.status_code == 404 and "import" not in answer.text, path


def test_continue_keeps_the_edited_start_and_title(client):
    start = "X:1\nT:My Start\nM:6/8\nL:1/8\nK:G Major\n|:GAB c2d|"
    answer = client.post("/api/continue", json={"abc": start, "seed": 3, "max_chars": MAX})
    assert answer.status_code == 200, answer.text
    tune = answer.json()["tunes"][0]["abc"]
    assert tune.startswith(start) and len(tune) > len(start)


def test_title_of():
    assert title_of(JIG) == "Tiny Jig" and title_of("M:C\nK:G\nABc|") is None


def test_continue_takes_a_pasted_tune_with_comments_and_fields(client):
    start = "X:3\nT:Pasted\n% from a book\nR:jig\nM:6/8\nL:1/8\nK:G major\n|:GAB c2d|"
    answer = client.post("/api/continue", json={"abc": start, "seed": 3, "max_chars": MAX})
    assert answer.status_code == 200, answer.text
    tune = answer.json()["tunes"][0]["abc"]
    assert tune.startswith("X:1\nT:Pasted\nM:6/8\nL:1/8\nK:G Major\n|:GAB c2d|")


def test_handlers_are_module_functions_behind_one_route_table():
    from musicgen.studio import app

    endpoints = [route.endpoint for route in app.ROUTES if hasattr(route, "endpoint")]
    assert len(endpoints) == 15
    for endpoint in endpoints:
        assert endpoint.__qualname__ == endpoint.__name__  # not a closure in create_app
        module = __import__(endpoint.__module__, fromlist=["_"])
        assert module.__name__ in ("musicgen.studio.app", "musicgen.studio.practice_routes")
        assert getattr(module, endpoint.__name__) is endpoint


def test_page_and_vendored_abcjs_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "abcjs-basic-min.js" in page.text
    assert client.get("/static/abcjs-basic-min.js").status_code == 200
    assert "MIT" in client.get("/static/abcjs-LICENSE.md").text


def test_an_unexpected_error_is_a_one_line_500_without_traceback(client, engine, monkeypatch):
    def broken(abc):
        raise RuntimeError("boom\nTraceback (most recent call last)")

    monkeypatch.setattr(engine, "check", broken)
    answer = client.post("/api/check", json={"abc": JIG})
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error (see the server log)"}


def test_studio_command_fails_cleanly_on_a_missing_run_dir(tmp_path):
    args = ["studio", "--run", str(tmp_path / "none"), "--tunebook", str(tmp_path / "b.sqlite")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "Error:" in result.output
    assert "Traceback" not in result.output


def test_the_form_field_maps_to_the_samplers_form_plan():
    from musicgen.form.plan import FormPlan
    from musicgen.sampling.request import sample_config
    from musicgen.studio.params import sample_request

    def plan(data):
        return sample_config(sample_request(data)).form

    assert plan({"form": "AABB"}) == FormPlan("AABB", 8)
    assert plan({"form": "auto"}) == FormPlan(bars=8)  # as sample's default
    assert plan({}) == plan({"form": None}) == FormPlan(bars=8)  # the default: auto, as sample
    assert plan({"form": "none"}) is None
    assert plan({"form": "ABAC", "bars_per_part": "auto", "cadence": False}) == FormPlan(
        "ABAC", None, cadence=False
    )


def test_the_rhyme_field_reaches_the_plan_with_the_clis_default():
    from musicgen.sampling.request import SampleRequest, sample_config
    from musicgen.studio.params import BadRequest, sample_request

    def plan(data):
        return sample_config(sample_request(data)).form

    assert sample_request({}).rhyme == SampleRequest().rhyme == "auto"
    assert plan({"rhyme": "never"}) != plan({"rhyme": "always"})
    assert plan({"rhyme": None}) == plan({})
    with pytest.raises(Exception) as err:
        sample_config(sample_request({"rhyme": "sometimes"}))
    assert "rhyme" in str(err.value) and "never" in str(err.value)
    with pytest.raises(BadRequest):
        sample_request({"rhyme": "x" * 20})
