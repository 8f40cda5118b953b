"""Practice through the API: tempo, count-in, loops of parts and bars, transposition,
bar maps, variations and the print view; and the bar reader alone."""

from __future__ import annotations

import io
import warnings
import wave

import mido
import pytest

pytest.importorskip("starlette")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from musicgen.abc import bars  # noqa: E402
from musicgen.errors import TuneError  # noqa: E402
from musicgen.studio.app import create_app  # noqa: E402
from musicgen.studio.engine import Engine  # noqa: E402
from musicgen.studio.guard import policy_for  # noqa: E402
from musicgen.studio.practice import beats_of  # noqa: E402
from musicgen.studio.tunebook import Tunebook  # noqa: E402
from tests.conftest import JIG, REEL  # noqa: E402

TWO_PARTS = "X:1\nT:Two\nM:6/8\nL:1/8\nK:G\n|:GAB c2d|e3 d2B:|\n|:dBG AFD|G3 G3:|\n"


@pytest.fixture(scope="module")
def client(tiny_run, tiny_tunes, tmp_path_factory):
    book = Tunebook(tmp_path_factory.mktemp("practice") / "book.sqlite")
    app = create_app(Engine(tiny_run, list(tiny_tunes)), book, policy_for("127.0.0.1", 8000))
    return TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)


def seconds(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as audio:
        return audio.getnframes() / audio.getframerate()


def test_speed_and_bpm_set_the_tempo_of_midi_and_wav(client):
    natural = client.post("/api/render/wav", json={"abc": JIG})
    slow = client.post("/api/render/wav", json={"abc": JIG, "speed": 0.5})
    assert float(slow.headers["x-tempo-bpm"]) == pytest.approx(
        float(natural.headers["x-tempo-bpm"]) / 2
    )
    assert seconds(slow.content) == pytest.approx(2 * seconds(natural.content), rel=0.1)
    midi = client.post("/api/render/mid", json={"abc": JIG, "bpm": 90})
    tempo = next(
        m.tempo for m in mido.MidiFile(file=io.BytesIO(midi.content)) if m.type == "set_tempo"
    )
    assert mido.tempo2bpm(tempo) == pytest.approx(90)
    assert client.post("/api/render/wav", json={"abc": JIG, "speed": 9}).status_code == 400


def test_count_in_puts_one_bar_of_clicks_before_the_tune(client):
    plain = client.post("/api/render/wav", json={"abc": JIG, "bpm": 120})
    counted = client.post("/api/render/wav", json={"abc": JIG, "bpm": 120, "count_in": True})
    # 6/8 at 120 quarters a minute: two dotted-quarter beats of 0.75 s
    assert float(counted.headers["x-count-in"]) == pytest.approx(1.5)
    assert seconds(counted.content) == pytest.approx(seconds(plain.content) + 1.5, abs=0.01)
    assert beats_of(6, 8) == (2, 1.5) and beats_of(3, 4) == (3, 1.0) and beats_of(2, 2) == (2, 2.0)


def test_a_part_or_bars_play_alone(client):
    def notes(body):
        answer = client.post("/api/render/mid", json={"abc": TWO_PARTS, **body})
        assert answer.status_code == 200, answer.text
        return sum(
            m.type == "note_on" and m.velocity > 0
            for m in mido.MidiFile(file=io.BytesIO(answer.content))
        )

    assert notes({"part": "B"}) == 2 * 8  # dBG AFD G3 G3, repeated
    assert notes({"bars": [2, 3]}) == 3 + 6  # e3 d2B, dBG AFD, once each
    assert client.post("/api/render/mid", json={"abc": TWO_PARTS, "part": "C"}).status_code == 400
    assert (
        client.post("/api/render/mid", json={"abc": TWO_PARTS, "bars": [3, 9]}).status_code == 400
    )


def test_transpose_and_layout_show_a_tune_for_a_b_flat_instrument(client):
    moved = client.post("/api/transpose", json={"abc": JIG, "semitones": 2}).json()["abc"]
    assert "K:A Major" in moved
    shown = client.post("/api/layout", json={"abc": JIG, "transpose": 2}).json()
    assert shown["abc"] == moved and shown["parts"] == {"A": [1, 4]}
    assert [b["n"] for b in shown["bars"]] == [1, 2, 3, 4]
    played = client.post("/api/render/mid", json={"abc": JIG, "transpose": -12}).content
    low = [m.note for m in mido.MidiFile(file=io.BytesIO(played)) if m.type == "note_on"]
    high = [
        m.note
        for m in mido.MidiFile(
            file=io.BytesIO(client.post("/api/render/mid", json={"abc": JIG}).content)
        )
        if m.type == "note_on"
    ]
    assert [n + 12 for n in low] == high


def test_bar_layout_of_parts_endings_and_a_pickup():
    assert bars.layout(TWO_PARTS).parts() == {"A": (1, 2), "B": (3, 4)}
    assert bars.layout(JIG).parts() == {"A": (1, 4)}  # first and second endings in one part
    assert bars.part(TWO_PARTS, "B").endswith("K:G\n|:dBG AFD|G3 G3:|\n")
    assert bars.bar_range(JIG, 3, 4).endswith("K:G Major\n|cBA G3|cBA G2z|]\n")
    assert len(bars.layout(REEL).bars) == 5  # the (3ABc pickup is bar 1
    with pytest.raises(TuneError, match="no K: line"):
        bars.layout("X:1\nT:x\n")


def test_vary_gives_valid_variants_that_keep_the_start(client):
    tune = TWO_PARTS
    answer = client.post(
        "/api/vary", json={"abc": tune, "first": 2, "last": 2, "seed": 5, "max_chars": 400}
    )
    assert answer.status_code == 200, answer.text
    variants = answer.json()["variants"]
    assert variants
    for variant in variants:  # bar 2 is new; bar 1 and bars 3-4 are as they were
        assert variant["check"]["valid"]
        assert "\nT:Two\nM:6/8\nL:1/8\nK:G\n|:GAB c2d|" in variant["abc"]
        assert variant["abc"].endswith(":|\n|:dBG AFD|G3 G3:|\n")
    refused = client.post("/api/vary", json={"abc": tune, "first": 3, "last": 9})
    assert refused.status_code == 400 and "not within" in refused.json()["error"]


def test_print_view_of_the_tunebook_for_an_e_flat_instrument(client):
    client.post("/api/tunebook", json={"abc": JIG})
    page = client.get("/print?for=Eb")
    assert page.status_code == 200 and "for Eb instruments" in page.text
    assert "K:E Major" in page.text and page.text.count('class="print-tune"') >= 1
    one = client.get("/print", params={"abc": REEL})
    assert one.text.count('class="print-tune"') == 1 and "Tiny Reel" in one.text
    assert client.get("/print?for=G").status_code == 400


def test_a_loop_plays_in_the_meter_and_key_its_bars_are_written_in():
    tune = "X:1\nT:Changes\nM:4/4\nL:1/8\nK:D\nABcd efga|[M:3/4]ABc def|\nK:G\nM:2/4\nGABc|dBGB|\n"
    assert bars.bar_range(tune, 4, 4).endswith("K:D\nM:2/4\nK:G\n|dBGB|]\n")
    assert bars.bar_range(tune, 2, 2).endswith("K:D\n|[M:3/4]ABc def|]\n")  # its own change
    assert bars.bar_range(tune, 3, 3).endswith("K:D\nM:3/4\n|\nK:G\nM:2/4\nGABc|]\n")
    assert bars.bar_range(tune, 1, 1).endswith("K:D\n|ABcd efga|]\n")  # nothing changed yet
    tunes = "X:1\nM:6/8\nK:A\n|:ABc ABc:|\n[K:Bb][M:2/4]|:B2 d2:|\n"
    assert bars.part(tunes, "B").endswith("K:A\nM:2/4\nK:Bb\n|:B2 d2:|\n")
