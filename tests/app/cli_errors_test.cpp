// Bad inputs through the built `detstream` binary: each must exit non-zero with a message on
// stderr that names the problem (truncated or random ONNX bytes, unsupported operators, shapes
// the model cannot take, corrupt/foreign/newer plans, unknown file types and flags).
#include <gtest/gtest.h>

#include <filesystem>

#include "inference/plan/plan_format.h"
#include "inference/plan/plan_test_util.h"
#include "support/subprocess.h"
#include "support/tiny_onnx_model.h"

namespace detstream::testing {
namespace {

namespace fs = std::filesystem;
using inference::plan_test::find_section;
using inference::plan_test::read_bytes;
using inference::plan_test::reseal;
using inference::plan_test::write_bytes;

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CliErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(detstream_binary())) {
      GTEST_SKIP() << "\n\n*** SKIPPED: " << detstream_binary() << " is not built (build the detstream target) ***\n";
    }
  }

  // Runs `detstream <args>` with stdout and stderr captured separately.
  CliResult cli(const std::string& args) {
    const std::string err_path = dir_ / "stderr.txt";
    const CommandResult run =
        run_shell("( " + shell_quote(detstream_binary()) + " " + args + " 2>" + shell_quote(err_path) + " )");
    return {run.exit_code, run.output, inference::plan_test::read_bytes(err_path)};
  }

  // A valid plan of the tiny model, built by the binary itself.
  std::string built_plan(const std::string& name) {
    const std::string model = dir_ / "tiny.onnx";
    write_tiny_onnx(model);
    const std::string plan = dir_ / name;
    const CliResult build = cli("build --model " + shell_quote(model) + " --backend ref --output " + shell_quote(plan));
    EXPECT_EQ(build.exit_code, 0) << build.err;
    return plan;
  }

  static void expect_failure(const CliResult& r, std::initializer_list<const char*> words) {
    EXPECT_NE(r.exit_code, 0) << "stdout: " << r.out;
    for (const char* word : words)
      EXPECT_NE(r.err.find(word), std::string::npos) << "missing '" << word << "' in stderr: " << r.err;
  }

  TempDir dir_{"cli-errors"};
};

TEST_F(CliErrorsTest, TruncatedOnnx) {
  const std::string bytes = tiny_onnx_bytes();
  const std::string model = dir_ / "truncated.onnx";
  write_bytes(model, bytes.substr(0, bytes.size() / 2));
  const CliResult build =
      cli("build --backend ref --model " + shell_quote(model) + " --output " + shell_quote(dir_ / "x.plan"));
  expect_failure(build, {"truncated.onnx", "not a valid ONNX model", "truncated"});
  EXPECT_FALSE(fs::exists(dir_ / "x.plan"));
  expect_failure(cli("inspect " + shell_quote(model)), {"truncated.onnx", "not a valid ONNX model"});
}

TEST_F(CliErrorsTest, RandomBytesAsOnnx) {
  std::string bytes(2048, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 11);
  const std::string model = dir_ / "random.onnx";
  write_bytes(model, bytes);
  expect_failure(cli("build --backend ref --model " + shell_quote(model)), {"random.onnx", "not a valid ONNX model"});
  expect_failure(cli("inspect " + shell_quote(model)), {"random.onnx", "not a valid ONNX model"});
}

TEST_F(CliErrorsTest, UnsupportedOperatorIsNamed) {
  for (const char* op : {"NonMaxSuppression", "Loop"}) {
    const std::string model = dir_ / (std::string(op) + ".onnx");
    write_tiny_onnx(model, TinyModelSpec::with_op(op));
    const CliResult build = cli("build --backend ref --model " + shell_quote(model));
    expect_failure(build, {"unsupported operator", op, ("post/" + std::string(op)).c_str(), "opset 17"});
    expect_failure(cli("inspect " + shell_quote(model)), {"unsupported operator", op});
  }
}

TEST_F(CliErrorsTest, ShapesTheModelCannotTake) {
  const std::string model = dir_ / "fixed.onnx";
  write_tiny_onnx(model);  // fixed 1x3x32x32
  expect_failure(cli("build --backend ref --imgsz 64 --model " + shell_quote(model)),
                 {"images", "fixed at 1x3x32x32", "1x3x64x64", "dynamic=True"});
  expect_failure(cli("build --backend ref --batch 4 --model " + shell_quote(model)),
                 {"images", "fixed at 1x3x32x32", "4x3x32x32"});
  expect_failure(cli("build --backend ref --min-batch 4 --opt-batch 2 --model " + shell_quote(model)),
                 {"batch profile", "min <= opt <= max"});
  // A plan is bound to the shapes it was built for.
  const std::string plan = built_plan("fixed.plan");
  expect_failure(cli("bench --iterations 1 --warmup 0 --batch 4 --model " + shell_quote(plan)),
                 {"built for batch 1", "not 4", "rebuild"});
  expect_failure(cli("bench --iterations 1 --warmup 0 --imgsz 64 --model " + shell_quote(plan)),
                 {"1x3x32x32", "--imgsz 64", "rebuild"});
}

TEST_F(CliErrorsTest, CorruptPlan) {
  const std::string plan = built_plan("corrupt.plan");
  std::string bytes = read_bytes(plan);
  bytes[bytes.size() / 2] ^= 0x01;
  write_bytes(plan, bytes);
  expect_failure(cli("inspect " + shell_quote(plan)), {"corrupt.plan", "checksum mismatch", "rebuild"});
  expect_failure(cli("bench --iterations 1 --warmup 0 --model " + shell_quote(plan)), {"checksum mismatch", "rebuild"});
  write_bytes(plan, bytes.substr(0, bytes.size() - 100));
  expect_failure(cli("inspect " + shell_quote(plan)), {"corrupt.plan", "truncated"});
}

TEST_F(CliErrorsTest, PlanWithAnotherCompatibilityKey) {
  const std::string plan = built_plan("foreign.plan");
  std::string bytes = read_bytes(plan);
  const auto key = find_section(bytes, "CKEY");
  ASSERT_EQ(bytes.substr(key.offset, key.size), "ref/any/fp32");
  bytes.replace(key.offset, key.size, "ref/xyz/fp32");
  reseal(bytes);
  write_bytes(plan, bytes);
  expect_failure(cli("bench --iterations 1 --warmup 0 --model " + shell_quote(plan)), {"ref/xyz/fp32", "rebuild"});
  // inspect still shows it, and says it does not match.
  const CliResult inspect = cli("inspect --summary " + shell_quote(plan));
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("ref/xyz/fp32"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("no: this machine is 'ref/any/fp32'"), std::string::npos) << inspect.out;
}

TEST_F(CliErrorsTest, PlanFromAnotherFormatVersionOrNotAPlan) {
  const std::string plan = built_plan("newer.plan");
  std::string bytes = read_bytes(plan);
  const std::uint32_t version = inference::kPlanFormatVersion + 1;
  std::memcpy(bytes.data() + 8, &version, 4);
  write_bytes(plan, bytes);
  expect_failure(cli("inspect " + shell_quote(plan)), {"newer.plan", "newer detstream", "rebuild"});

  const std::string not_plan = dir_ / "onnx_in_disguise.plan";
  write_tiny_onnx(not_plan);
  expect_failure(cli("inspect " + shell_quote(not_plan)), {"not a detstream plan file"});
  expect_failure(cli("bench --iterations 1 --model " + shell_quote(not_plan)), {"not a detstream plan file"});
}

TEST_F(CliErrorsTest, UnknownFileTypeAndBadFlags) {
  const std::string text = dir_ / "model.txt";
  write_bytes(text, "hello");
  expect_failure(cli("inspect " + shell_quote(text)), {"model.txt", ".onnx", ".plan"});
  expect_failure(cli("bench --iterations 1 --model " + shell_quote(text)), {"model.txt", ".onnx", ".plan"});
  const std::string model = dir_ / "tiny.onnx";
  write_tiny_onnx(model);
  const CliResult backend = cli("build --backend tpu --model " + shell_quote(model));
  EXPECT_NE(backend.exit_code, 0) << backend.err;  // a CLI11 usage error
  EXPECT_NE(backend.err.find("tpu"), std::string::npos) << backend.err;
  expect_failure(cli("build --backend ref --model " + shell_quote(dir_ / "missing.onnx")), {"missing.onnx"});
  expect_failure(cli("build --backend ref --batch 2 --max-batch 4 --model " + shell_quote(model)),
                 {"--batch", "--max-batch"});
}

}  // namespace
}  // namespace detstream::testing
