"""How good and how fast: bits per character, per-tune checks, overlaps and benchmarks.

- `bits`: held-out cross-entropy of a run, in bits per character (``musicgen evaluate``);
- `check`: is a tune valid ABC, do its bars fit, is it novel (``musicgen check``);
- `mgeval`: do two sets of tunes sound alike (histogram overlaps);
- `card`: the model card, ``README.md`` in a run dir;
- `lab`: the MIT 6.S191 lab's recipe, the baseline every figure is measured against;
- `speed`, `training_speed`: ``musicgen bench``'s sampling, MIDI and training rows;
- `sizes`: fine-tuning against training from scratch on a small collection (``make sizes``).

May import any library package; never `cli` or `studio`.
"""
