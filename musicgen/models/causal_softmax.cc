// musicgen's one compiled kernel: the causal softmax of self-attention, forward and
// backward, one pass each over a (batch, heads, queries, keys) tensor of scores.
//
// TensorFlow makes four passes of its own kernels over those entries: the mask's add and
// the softmax forward, a subtraction and a multiply backward, each reading and writing
// every entry, the masked upper triangle included (docs/training.md, issue 26).  Here a
// query row is read once, only up to its own position; ALiBi's distance penalty
// (-slope x (query - key), one slope per head; zeros for none) is added on the way in, and
// everything is computed in float32 whatever the storage type (float32 or bfloat16).
//
//   MusicgenCausalSoftmax(scores, slopes) -> probs: softmax over keys j <= query i of
//       scores[b, h, i, j] - slopes[h] * (i - j); 0 for j > i.
//   MusicgenCausalSoftmaxGrad(probs, dprobs, rows) -> dscores:
//       probs * (dprobs - rows[b, h, i]) for j <= i, 0 beyond, where rows is the
//       (batch, heads, queries) sum of (output gradient x output) that FlashAttention's
//       identity gives for the softmax's row sum (musicgen/models/native.py).
//
// Built at first use by musicgen.models.native against the installed TensorFlow.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"

namespace {

using tensorflow::bfloat16;
using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;

// Entries are float32, or bfloat16 held as their 16 bits: the top half of a float32.
inline float to_float(float x) { return x; }
inline float to_float(uint16_t x) {
  uint32_t u = uint32_t(x) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline void store(float* p, float v) { *p = v; }
inline void store(uint16_t* p, float v) {  // round to nearest even, as TensorFlow's cast
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  u += 0x7fffu + ((u >> 16) & 1u);
  *p = uint16_t(u >> 16);
}

// e^x for x <= 0 (below -87 as -87: 1.6e-38, nothing beside a row's largest entry, 1): x = n ln2 + r with |r| <= ln2/2,
// e^r by its Taylor series to r^7, times 2^n from the exponent bits.  Plain arithmetic, so
// the compiler vectorizes the loops that call it (std::exp would be a call per entry).
inline float exp_nonpositive(float x) {
  x = std::max(x, -87.0f);
  const float n = std::nearbyint(x * 1.44269504088896341f);
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const uint32_t bits = uint32_t(int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// One query row: `allowed` keys (0 .. query) of `keys`; the rest get 0.  `buf` is scratch.
template <typename E>
void softmax_row(const E* __restrict s, E* __restrict p, int allowed, int keys, float slope,
                 float* __restrict buf) {
  const float last = float(allowed - 1);
  for (int j = 0; j < allowed; ++j) buf[j] = to_float(s[j]) - slope * (last - float(j));
  float top = -INFINITY;
  for (int j = 0; j < allowed; ++j) top = std::max(top, buf[j]);
  float sum = 0.0f;
  for (int j = 0; j < allowed; ++j) {
    buf[j] = exp_nonpositive(buf[j] - top);
    sum += buf[j];
  }
  const float inv = 1.0f / sum;
  for (int j = 0; j < allowed; ++j) store(p + j, buf[j] * inv);
  std::memset(p + allowed, 0, sizeof(E) * (keys - allowed));
}

// One query row of the gradient: dscores = probs (dprobs - row); 0 past the query.
template <typename E>
void grad_row(const E* __restrict p, const E* __restrict dp, float row, E* __restrict ds, int allowed, int keys) {
  for (int j = 0; j < allowed; ++j) store(ds + j, to_float(p[j]) * (to_float(dp[j]) - row));
  std::memset(ds + allowed, 0, sizeof(E) * (keys - allowed));
}

template <typename T, typename E>
class CausalSoftmaxOp : public OpKernel {
 public:
  explicit CausalSoftmaxOp(OpKernelConstruction* c) : OpKernel(c) {}
  void Compute(OpKernelContext* c) override {
    const Tensor& scores = c->input(0);
    const Tensor& slopes = c->input(1);
    OP_REQUIRES(c, scores.dims() == 4, absl::InvalidArgumentError("scores must be (B, N, T, S)"));
    const int64_t heads = scores.dim_size(1), queries = scores.dim_size(2), keys = scores.dim_size(3);
    OP_REQUIRES(c, slopes.NumElements() == heads, absl::InvalidArgumentError("one slope per head"));
    Tensor* probs = nullptr;
    OP_REQUIRES_OK(c, c->allocate_output(0, scores.shape(), &probs));
    const E* s = reinterpret_cast<const E*>(scores.flat<T>().data());
    E* p = reinterpret_cast<E*>(probs->flat<T>().data());
    const float* slope = slopes.flat<float>().data();
    auto work = [&](int64_t begin, int64_t end) {
      std::vector<float> buf(keys);
      for (int64_t r = begin; r < end; ++r) {
        const int64_t q = r % queries, head = (r / queries) % heads;
        const int allowed = int(std::min<int64_t>(q + 1, keys));
        softmax_row(s + r * keys, p + r * keys, allowed, int(keys), slope[head], buf.data());
      }
    };
    // Rows over TensorFlow's intra-op threads (one, inline, under musicgen's towers).
    auto* pool = c->device()->tensorflow_cpu_worker_threads();
    const int64_t rows = scores.NumElements() / std::max<int64_t>(keys, 1);
    tensorflow::Shard(pool->num_threads, pool->workers, rows, keys * 12, work);
  }
};

template <typename T, typename E>
class CausalSoftmaxGradOp : public OpKernel {
 public:
  explicit CausalSoftmaxGradOp(OpKernelConstruction* c) : OpKernel(c) {}
  void Compute(OpKernelContext* c) override {
    const Tensor& probs = c->input(0);
    const Tensor& dprobs = c->input(1);
    const Tensor& rows = c->input(2);
    OP_REQUIRES(c, probs.dims() == 4 && probs.shape() == dprobs.shape(),
                absl::InvalidArgumentError("probs and their gradient must be (B, N, T, S) alike"));
    const int64_t queries = probs.dim_size(2), keys = probs.dim_size(3);
    OP_REQUIRES(c, rows.NumElements() * keys == probs.NumElements(),
                absl::InvalidArgumentError("one row sum per query"));
    Tensor* out = nullptr;
    OP_REQUIRES_OK(c, c->allocate_output(0, probs.shape(), &out));
    const E* p = reinterpret_cast<const E*>(probs.flat<T>().data());
    const E* dp = reinterpret_cast<const E*>(dprobs.flat<T>().data());
    const float* row = rows.flat<float>().data();
    E* ds = reinterpret_cast<E*>(out->flat<T>().data());
    auto work = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int allowed = int(std::min<int64_t>(r % queries + 1, keys));
        grad_row(p + r * keys, dp + r * keys, row[r], ds + r * keys, allowed, int(keys));
      }
    };
    auto* pool = c->device()->tensorflow_cpu_worker_threads();
    tensorflow::Shard(pool->num_threads, pool->workers, rows.NumElements(), keys * 4, work);
  }
};

}  // namespace

REGISTER_OP("MusicgenCausalSoftmax")
    .Attr("T: {float, bfloat16}")
    .Input("scores: T")
    .Input("slopes: float")
    .Output("probs: T")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(0));
      return absl::OkStatus();
    });

REGISTER_OP("MusicgenCausalSoftmaxGrad")
    .Attr("T: {float, bfloat16}")
    .Input("probs: T")
    .Input("dprobs: T")
    .Input("rows: float")
    .Output("dscores: T")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(0));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(
    Name("MusicgenCausalSoftmax").Device(tensorflow::DEVICE_CPU).TypeConstraint<float>("T"),
    CausalSoftmaxOp<float, float>);
REGISTER_KERNEL_BUILDER(
    Name("MusicgenCausalSoftmax").Device(tensorflow::DEVICE_CPU).TypeConstraint<bfloat16>("T"),
    CausalSoftmaxOp<bfloat16, uint16_t>);
REGISTER_KERNEL_BUILDER(
    Name("MusicgenCausalSoftmaxGrad").Device(tensorflow::DEVICE_CPU).TypeConstraint<float>("T"),
    CausalSoftmaxGradOp<float, float>);
REGISTER_KERNEL_BUILDER(
    Name("MusicgenCausalSoftmaxGrad").Device(tensorflow::DEVICE_CPU).TypeConstraint<bfloat16>("T"),
    CausalSoftmaxGradOp<bfloat16, uint16_t>);
