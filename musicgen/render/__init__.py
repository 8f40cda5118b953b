"""Music out: MIDI, WAV, SVG, MusicXML and the numbered output files.

- `midi`: one tune -> a MIDI file (mido), from `musicgen.playback`'s notes;
- `audio`: MIDI -> WAV (FluidSynth where installed, else a small numpy synthesizer);
- `sheet`: SVG engraved by abcm2ps, MusicXML written by music21;
- `output`: ``NNN-title.abc``/``.mid``/``.wav``/``.svg``/``.musicxml`` and ``all.abc``.

May import `musicgen.abc`, `musicgen.playback`, `files` and `errors`; no TensorFlow.
"""
