"""ABC text: tunes and corpus files, the lexer, music theory, transposition, the vocabulary.

- `tunes`: split a file into tunes, read headers, normalize (``Tune.text()``);
- `corpus`: find ABC files and read them into tunes, skipping and counting bad ones;
- `bars`: a tune's bars and parts as offsets into its text (what ``vary`` rewrites);
- `lexer`: one lexer for ABC 2.1, text -> typed, positioned tokens every later stage reads;
- `theory`: keys and modes, meters, unit lengths, durations, tempos, pitch spelling;
- `transpose`: move tunes to other keys (the training augmentation);
- `vocab`: characters <-> integer ids, ``vocab.json`` in a run dir.

Pure Python and numpy.  Imports nothing of musicgen's but `errors` and `files`, and never
TensorFlow or Keras: everything else stands on this layer.
"""
