// The CPU's attainable matrix-multiply rate through oneDNN, fp32 and bf16, at the thread count
// given: the ceiling against which the engine's convolution throughput is read (bench/RESULTS.md).
// A square M=N=K GEMM large enough to be compute-bound, timed over repeated runs; prints GFLOP/s.
//   peak_gemm [--threads N] [--size S] [--seconds T]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <dnnl.hpp>

namespace {

double measure_gflops(dnnl::engine& engine, dnnl::stream& stream, dnnl::memory::data_type type, int size,
                      double seconds) {
  using tag = dnnl::memory::format_tag;
  const dnnl::memory::dims dims{size, size};
  const dnnl::memory::desc a(dims, type, tag::ab), b(dims, type, tag::ab);
  const dnnl::memory::desc c(dims, dnnl::memory::data_type::f32, tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), engine);
  dnnl::memory ma(a, engine), mb(b, engine), mc(c, engine);
  const dnnl::matmul matmul(pd);
  auto run = [&] { matmul.execute(stream, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}}); };
  for (int i = 0; i < 3; ++i) run();
  stream.wait();
  const auto start = std::chrono::steady_clock::now();
  int runs = 0;
  double elapsed = 0.0;
  while (elapsed < seconds) {
    run();
    stream.wait();
    ++runs;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return 2.0 * size * size * static_cast<double>(size) * runs / elapsed / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, size = 2048;
  double seconds = 3.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--threads") threads = std::atoi(argv[i + 1]);
    else if (flag == "--size") size = std::atoi(argv[i + 1]);
    else if (flag == "--seconds") seconds = std::atof(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s; usage: peak_gemm [--threads N] [--size S] [--seconds T]\n", argv[i]);
      return 2;
    }
  }
  if (threads > 0) omp_set_num_threads(threads);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::printf("oneDNN GEMM %dx%dx%d, %d threads\n", size, size, size, omp_get_max_threads());
  std::printf("fp32: %.1f GFLOP/s\n", measure_gflops(engine, stream, dnnl::memory::data_type::f32, size, seconds));
  std::printf("bf16: %.1f GFLOP/s\n", measure_gflops(engine, stream, dnnl::memory::data_type::bf16, size, seconds));
  return 0;
}
