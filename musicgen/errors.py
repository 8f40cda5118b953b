"""Every error musicgen raises on purpose, in one place.

The CLI maps :class:`MusicgenError` to a one-line message and exit code 1; anything
else reaching the user is a bug.  Messages name the file, tune and line where known.
"""

from __future__ import annotations


class MusicgenError(Exception):
    """Base class: a failure of the work (bad corpus, bad checkpoint, ...)."""


class CorpusError(MusicgenError):
    """An ABC file cannot be read at all (missing, not UTF-8, empty, no tunes)."""


class TuneError(MusicgenError):
    """A tune that cannot be used as asked: no ``K:`` line, no bars, bars out of range."""


class VocabError(MusicgenError):
    """Text contains characters the vocabulary does not know, or vocab.json is bad."""


class RunDirError(MusicgenError):
    """A run directory is missing files, is from another version, or disagrees with itself."""


class TrainError(MusicgenError):
    """Training cannot start or continue (e.g. a resumed run with another config)."""


class SampleError(MusicgenError):
    """Sampling cannot start (bad primer, bad options)."""


class OptionError(SampleError):
    """A requested value sampling cannot use: names the option (`option`, as the studio's
    JSON spells it) and says which values are allowed (`message`)."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option, self.message = option, message


class MidiError(MusicgenError):
    """One tune cannot be turned into MIDI; carries the reason."""


class OutputError(MusicgenError):
    """Output cannot be written (exists without --force, disk full, permission denied)."""


class GrammarError(MusicgenError):
    """Text breaks the ABC grammar the sampler enforces (see musicgen.grammar)."""


class TransposeError(MusicgenError):
    """A tune cannot be moved to another key (no tonic, explicit accidentals, unknown mode)."""
