from pathlib import Path

import pytest

from musicgen.abc.tunes import parse_abc
from musicgen.evaluation import sizes


def test_collections_are_nested_and_never_meet_the_held_out_tunes(tiny_tunes):
    tunes = list(tiny_tunes)
    test, collections = sizes.subsets(tunes, seed=1, sizes=(3, 9), held_out=10)
    assert len(test) == 10 and [len(c) for c in collections.values()] == [3, 9]
    assert collections[9][:3] == collections[3]
    assert not {t.text() for t in test} & {t.text() for t in collections[9]}
    assert sizes.subsets(tunes, seed=1, sizes=(3, 9), held_out=10)[0] == test
    assert sizes.subsets(tunes, seed=2, sizes=(3, 9), held_out=10)[0] != test
    with pytest.raises(ValueError, match="too few"):
        sizes.subsets(tunes, seed=1, sizes=(30,), held_out=10)


def test_only_the_fine_tuned_run_starts_from_the_base():
    scratch = sizes.train_command(Path("c.abc"), Path("r"), None, 8)
    tuned = sizes.train_command(Path("c.abc"), Path("r"), Path("base"), 8)
    assert "--init" not in scratch and tuned[-2:] == ["--init", "base"]
    assert "--force" not in tuned  # an interrupted experiment resumes


def test_runs_are_scored_on_the_tunes_both_can_encode(tiny_run, tiny_tunes):
    from musicgen.run.rundir import load_run

    vocab = load_run(tiny_run).vocab
    unseen = next(c for c in "@$&;#*" if c not in vocab.chars)
    odd, _ = parse_abc(f'X:1\nT:odd\nM:4/4\nL:1/8\nK:C\n"{unseen}"CDEF GABc|c8|]\n')
    assert odd and vocab.unknown(odd[0].text())
    figures, scored = sizes.score([tiny_run, tiny_run], [*tiny_tunes[:4], *odd])
    assert scored == 4
    assert figures[0] == figures[1] and 0 < figures[0] < 10
