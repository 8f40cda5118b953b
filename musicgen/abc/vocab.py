"""Character vocabulary: text <-> integer ids, saved as ``vocab.json`` in a run dir.

Two control characters mark tune boundaries in the id stream: ``BOS`` before each tune
and ``EOS`` after it.  The sampler starts from ``BOS`` and stops at ``EOS``, so a sampled
tune is complete exactly when the model chose to end it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicgen.errors import VocabError

BOS = "\x02"  # ASCII "start of text": never appears in ABC
EOS = "\x03"  # ASCII "end of text"
FORMAT = 1  # bump when vocab.json changes shape


@dataclass(frozen=True)
class Vocab:
    """An ordered tuple of characters; a character's id is its position."""

    chars: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            raise VocabError("vocabulary has duplicate characters")
        if any(len(c) != 1 for c in self.chars):
            raise VocabError("vocabulary entries must be single characters")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.chars)})

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocab:
        """Build a vocabulary: BOS, EOS, then every character seen, sorted."""
        seen: set[str] = set()
        for text in texts:
            seen.update(text)
        seen -= {BOS, EOS}
        return cls((BOS, EOS, *sorted(seen)))

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def bos(self) -> int:
        return self._index[BOS]

    @property
    def eos(self) -> int:
        return self._index[EOS]

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of `text` not in the vocabulary, in order of appearance."""
        return list(dict.fromkeys(c for c in text if c not in self._index))

    def encode(self, text: str) -> np.ndarray:
        """Ids of `text` as int32; raise VocabError listing any unknown characters."""
        try:
            return np.fromiter((self._index[c] for c in text), dtype=np.int32, count=len(text))
        except KeyError:
            unknown = describe(self.unknown(text))
            raise VocabError(f"characters not in the vocabulary: {unknown}") from None

    def encode_tune(self, text: str) -> np.ndarray:
        """``BOS text EOS`` as ids: how a whole tune appears in training and evaluation."""
        return self.encode(BOS + text + EOS)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids`; raise VocabError on an id out of range."""
        try:
            return "".join(self.chars[int(i)] for i in ids)
        except IndexError:
            raise VocabError(f"id out of range 0..{len(self.chars) - 1}") from None

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "chars": list(self.chars)}, indent=1)

    @classmethod
    def from_json(cls, text: str, source: str = "vocab.json") -> Vocab:
        """Parse vocab.json text; errors name `source` and what is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise VocabError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise VocabError(
                f"{source}: unsupported vocabulary format {found!r} (expected {FORMAT})"
            )
        chars = data.get("chars")
        if not isinstance(chars, list) or not all(isinstance(c, str) for c in chars):
            raise VocabError(f"{source}: 'chars' must be a list of one-character strings")
        if BOS not in chars or EOS not in chars:
            raise VocabError(f"{source}: vocabulary lacks the tune start/end markers")
        try:
            return cls(tuple(chars))
        except VocabError as exc:
            raise VocabError(f"{source}: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VocabError(f"{path}: cannot read ({exc})") from None
        return cls.from_json(text, str(path))


def describe(chars: Iterable[str]) -> str:
    """Characters as a readable list: ``'$', '\\t', 'é'``."""
    return ", ".join(repr(c) for c in chars)
