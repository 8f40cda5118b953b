"""The networks: one registry, and a module per architecture.

- `registry`: `ModelConfig` and the table of architectures; the only place that lists them;
- `architecture`: `Architecture`, what an entry holds, and `Stepper`, the sampler's interface;
- `lstm`: the LSTM, its one-step sampler and its entry;
- `transformer`: a decoder-only causal Transformer and its entry; `transformer_step`: its
  cached one-step sampler (numpy over a key/value cache);
- `layers`: Keras layers of our own (embeddings, attention, layer norm, dropout),
  registered for safe loading; `mlp`: the per-character ones (`TokenDense`, `Gelu`);
- `native`: the attention's causal softmax as one compiled op each way
  (``causal_softmax.cc``, built at first use; TensorFlow's own ops where it cannot be);
- `fused_lstm`: `FusedLSTM`, an LSTM layer that trains faster on CPUs;
- `tfenv`: importing TensorFlow quietly, once.

May import `errors` only: models know nothing of ABC, run dirs or training.
"""
