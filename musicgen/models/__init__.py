"""The networks: one registry, and a module per architecture.

- `registry`: `ModelConfig`, `Architecture` and the table of architectures; the only place
  that names one;
- `transformer`: a decoder-only causal Transformer;
- `fused_lstm`: `FusedLSTM`, an LSTM layer that trains faster on CPUs;
- `steppers`: each architecture's one-step sampling function and its state;
- `tfenv`: importing TensorFlow quietly, once.

May import `errors` only: models know nothing of ABC, run dirs or training.
"""
