// MatMul (NumPy semantics: N-D batched with broadcast batch dimensions; a 1-D operand gets a
// unit dimension prepended (A) or appended (B) that is removed from the result) and Gemm
// (opset 7+: Y = alpha * op(A) * op(B) + beta * C, C optional and unidirectionally broadcast to
// M x N). float32, through the blocked sgemm.
#include <algorithm>
#include <array>
#include <vector>

#include "inference/ops/broadcast.h"
#include "inference/ops/gemm_kernel.h"
#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"

namespace detstream::inference::ops {

namespace {

void require_float(const Node& node, std::span<const InputInfo> in) {
  for (const InputInfo& i : in) {
    if (i.present() && i.dtype != DataType::kFloat32) {
      throw node_error(node, "only float32 is supported, got " + std::string(to_string(i.dtype)));
    }
  }
}

// Operand shapes as matrices: A -> [batch..., M, K], B -> [batch..., K, N].
struct MatMulDims {
  Shape batch_a, batch_b, batch;
  std::int64_t m = 0, k = 0, n = 0;
  Shape output;
};

MatMulDims matmul_dims(const Node& node, const Shape& a, const Shape& b) {
  if (a.empty() || b.empty()) throw node_error(node, "operands must have rank >= 1, got " + to_string(a) + " and " + to_string(b));
  Shape a2 = a.size() == 1 ? Shape{1, a[0]} : a;
  Shape b2 = b.size() == 1 ? Shape{b[0], 1} : b;
  MatMulDims d;
  d.m = a2[a2.size() - 2];
  d.k = a2.back();
  d.n = b2.back();
  if (b2[b2.size() - 2] != d.k) {
    throw node_error(node, "inner dimensions differ: " + to_string(a) + " x " + to_string(b));
  }
  d.batch_a.assign(a2.begin(), a2.end() - 2);
  d.batch_b.assign(b2.begin(), b2.end() - 2);
  try {
    d.batch = broadcast_shapes(d.batch_a, d.batch_b);
  } catch (const Error& e) {
    throw node_error(node, std::string("batch dimensions do not broadcast: ") + e.what());
  }
  d.output = d.batch;
  if (a.size() != 1) d.output.push_back(d.m);
  if (b.size() != 1) d.output.push_back(d.n);
  return d;
}

std::vector<OutputInfo> infer_matmul(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 2, 2);
  require_float(node, in);
  return {OutputInfo{DataType::kFloat32, matmul_dims(node, in[0].shape, in[1].shape).output, nullptr}};
}

void matmul(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const MatMulDims d = matmul_dims(node, in[0].shape, in[1].shape);
  const float* a = in[0].as<float>();
  const float* b = in[1].as<float>();
  float* y = out[0].as<float>();
  const std::int64_t a_size = d.m * d.k, b_size = d.k * d.n, y_size = d.m * d.n;
  for_each_broadcast_n<2>({&d.batch_a, &d.batch_b}, d.batch, [&](std::int64_t i, const std::array<std::int64_t, 2>& off) {
    sgemm(d.m, d.n, d.k, a + off[0] * a_size, d.k, b + off[1] * b_size, d.n, y + i * y_size, d.n, false);
  });
}

struct GemmDims {
  std::int64_t m = 0, k = 0, n = 0;
};

GemmDims gemm_dims(const Node& node, const Shape& a, const Shape& b) {
  if (a.size() != 2 || b.size() != 2) throw node_error(node, "A and B must be 2-D, got " + to_string(a) + " and " + to_string(b));
  const bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  GemmDims d{ta ? a[1] : a[0], ta ? a[0] : a[1], tb ? b[0] : b[1]};
  const std::int64_t kb = tb ? b[1] : b[0];
  if (kb != d.k) throw node_error(node, "inner dimensions differ: op(A) is " + std::to_string(d.m) + "x" + std::to_string(d.k) +
                                            ", op(B) is " + std::to_string(kb) + "x" + std::to_string(d.n));
  return d;
}

std::vector<OutputInfo> infer_gemm(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 2, 3);
  require_float(node, in);
  const GemmDims d = gemm_dims(node, in[0].shape, in[1].shape);
  const Shape out{d.m, d.n};
  if (in.size() > 2 && in[2].present()) {
    bool ok = in[2].shape.size() <= 2;
    try {
      ok = ok && broadcast_shapes(in[2].shape, out) == out;
    } catch (const Error&) {
      ok = false;
    }
    if (!ok) throw node_error(node, "C of shape " + to_string(in[2].shape) + " does not broadcast to " + to_string(out));
  }
  return {OutputInfo{DataType::kFloat32, out, nullptr}};
}

// Row-major transpose of an r x c matrix into `t`.
std::vector<float> transposed(const float* x, std::int64_t r, std::int64_t c) {
  std::vector<float> t(static_cast<std::size_t>(r * c));
  for (std::int64_t i = 0; i < r; ++i)
    for (std::int64_t j = 0; j < c; ++j) t[static_cast<std::size_t>(j * r + i)] = x[i * c + j];
  return t;
}

void gemm(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const GemmDims d = gemm_dims(node, in[0].shape, in[1].shape);
  const float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  std::vector<float> at, bt;
  const float* a = in[0].as<float>();
  const float* b = in[1].as<float>();
  if (node.attr_int("transA", 0)) a = (at = transposed(a, d.k, d.m)).data();
  if (node.attr_int("transB", 0)) b = (bt = transposed(b, d.n, d.k)).data();
  float* y = out[0].as<float>();
  sgemm(d.m, d.n, d.k, a, d.k, b, d.n, y, d.n, false);
  const std::int64_t count = d.m * d.n;
  if (alpha != 1.0f) {
    for (std::int64_t i = 0; i < count; ++i) y[i] *= alpha;
  }
  if (in.size() > 2 && in[2].data && beta != 0.0f) {
    const float* c = in[2].as<float>();
    for_each_broadcast(in[2].shape, out[0].shape, out[0].shape,
                       [&](std::int64_t i, std::int64_t ic, std::int64_t) { y[i] += beta * c[ic]; });
  }
}

}  // namespace

const OpSchema kMatMul{"MatMul", 1, infer_matmul, matmul};
const OpSchema kGemm{"Gemm", 7, infer_gemm, gemm};

}  // namespace detstream::inference::ops
