"""musicgen: learn folk tunes in ABC notation and write new ones as ABC, MIDI and audio.

Heavy libraries (TensorFlow, music21) are imported only by the modules that need them,
so importing this package and running ``musicgen --help`` stay fast.
"""

__version__ = "0.1.0"
