// ONNX's own backend node tests (Debian libonnx-testdata) through the reference backend: one
// parameterized test per case directory, so ctest lists each. Cases using op types the engine
// does not implement skip with the missing types; cases on the reviewed list (skipped_cases.cpp)
// skip with their reason; every other case must pass. When the process ran more than one case,
// the summary is printed and the case list written to <build>/onnx_node_cases.md (and to
// $DETSTREAM_WRITE_ONNX_NODE_CASES, which regenerates the committed CASES.md).
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <iostream>

#include "case_summary.h"
#include "node_case.h"
#include "skipped_cases.h"
#include "support/shared_data.h"

namespace detstream::inference::onnx_node {
namespace {

namespace fs = std::filesystem;

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (std::size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + items[i];
  return text;
}

class NodeCase : public ::testing::TestWithParam<std::string> {};

TEST_P(NodeCase, MatchesExpectedOutputs) {
  const std::string& name = GetParam();
  const fs::path dir = node_test_dir() / name;
  CaseRecord record;
  record.name = name;
  const CaseOps ops = case_ops(dir);
  record.opset = ops.opset;
  record.op_types = ops.op_types;
  const auto& listed = skipped_cases();
  const auto entry = listed.find(name);
  if (!ops.unsupported.empty()) {
    record.outcome = Outcome::kSkippedUnsupported;
    record.detail = join(ops.unsupported);
    record_case(record);
    ASSERT_EQ(entry, listed.end()) << name << " uses unsupported op types (" << record.detail
                                   << ") and needs no entry in skipped_cases.cpp: remove it";
    GTEST_SKIP() << "uses op types the engine does not implement: " << record.detail;
  }
  const CaseResult result = run_case(dir);
  if (entry != listed.end()) {
    record.outcome = result.passed ? Outcome::kListedButPassed : Outcome::kSkippedListed;
    record.detail = std::string(entry->second);
    record_case(record);
    ASSERT_FALSE(result.passed) << name << " is listed in skipped_cases.cpp (" << entry->second
                                << ") but passes now: remove the entry";
    GTEST_SKIP() << entry->second << " [observed: " << result.message << "]";
  }
  record.outcome = result.passed ? Outcome::kPassed : Outcome::kFailed;
  record.detail = result.message;
  record_case(record);
  EXPECT_TRUE(result.passed) << name << " (opset " << ops.opset << ", ops " << join(ops.op_types) << "): " << result.message
                             << "\nFix the op, or add the case with a reason to tests/inference/onnx_node/skipped_cases.cpp";
}

std::string case_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.rfind("test_", 0) == 0 ? info.param.substr(5) : info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(OnnxNode, NodeCase, ::testing::ValuesIn(discover_cases(node_test_dir())), case_test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(NodeCase);

TEST(OnnxNodeData, IsInstalled) {
  if (!discover_cases(node_test_dir()).empty()) return;
  if (testing::running_in_ci()) FAIL() << "ONNX node tests missing under CI: " << node_test_dir();
  GTEST_SKIP() << "\n\n*** SKIPPED: ONNX node tests not found in " << node_test_dir()
               << " (apt-get install libonnx-testdata, or set DETSTREAM_ONNX_NODE_DIR) ***\n";
}

// Every entry of the reviewed list must name a case that exists and uses only supported op types,
// so the list cannot rot silently.
TEST(OnnxNodeData, SkipListNamesExistingSupportedCases) {
  const std::vector<std::string> cases = discover_cases(node_test_dir());
  if (cases.empty()) GTEST_SKIP() << "ONNX node tests not installed";
  for (const auto& [name, reason] : skipped_cases()) {
    EXPECT_FALSE(reason.empty()) << name;
    const std::string case_name(name);
    if (std::find(cases.begin(), cases.end(), case_name) == cases.end()) {
      ADD_FAILURE() << "skipped_cases.cpp lists " << name << ", which is not a node test case";
      continue;
    }
    EXPECT_TRUE(case_ops(node_test_dir() / case_name).unsupported.empty())
        << name << " uses unsupported op types: its entry in skipped_cases.cpp is not needed";
  }
}

class SummaryEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    const std::vector<CaseRecord>& records = recorded_cases();
    if (records.size() < 2) return;
    std::cout << "\n[ onnx node ] " << summary_line(records) << "\n";
    for (const CaseRecord& r : records) {
      if (r.outcome == Outcome::kSkippedListed) std::cout << "[ onnx node ]   skipped " << r.name << ": " << r.detail << "\n";
      if (r.outcome == Outcome::kFailed) std::cout << "[ onnx node ]   FAILED " << r.name << ": " << r.detail << "\n";
    }
    const std::string markdown = cases_markdown(records, node_test_dir().string());
    std::vector<std::string> targets{std::string(DETSTREAM_BINARY_DIR) + "/onnx_node_cases.md"};
    if (const char* path = std::getenv("DETSTREAM_WRITE_ONNX_NODE_CASES"); path && *path) targets.emplace_back(path);
    for (const std::string& target : targets) {
      std::ofstream(target) << markdown;
      std::cout << "[ onnx node ] case list written to " << target << "\n";
    }
  }
};

[[maybe_unused]] const ::testing::Environment* const kSummary = ::testing::AddGlobalTestEnvironment(new SummaryEnvironment);

}  // namespace
}  // namespace detstream::inference::onnx_node
