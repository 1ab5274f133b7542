// Collects the outcome of every ONNX node test case run in this process and renders the summary:
// counts on stdout, and the Markdown list of cases run and skipped with reasons (committed as
// tests/inference/onnx_node/CASES.md). Outcomes are recorded from test bodies, which gtest runs
// on one thread; not thread-safe otherwise.
#pragma once

#include <string>
#include <vector>

namespace detstream::inference::onnx_node {

enum class Outcome { kPassed, kFailed, kSkippedListed, kSkippedUnsupported, kListedButPassed };

struct CaseRecord {
  std::string name;
  int opset = 0;
  std::vector<std::string> op_types;
  Outcome outcome = Outcome::kFailed;
  std::string detail;  // skip reason or failure message
};

void record_case(CaseRecord record);
const std::vector<CaseRecord>& recorded_cases();

// "run 270, passed 250, failed 0, skipped 20 listed + 662 unsupported ops".
std::string summary_line(const std::vector<CaseRecord>& records);
// Deterministic Markdown (sorted by case name, no timings).
std::string cases_markdown(std::vector<CaseRecord> records, const std::string& source);

}  // namespace detstream::inference::onnx_node
