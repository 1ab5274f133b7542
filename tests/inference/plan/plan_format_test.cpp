// The plan file: round trips (graph, every attribute kind, weights alignment, identical outputs),
// the header reader, and every way a file can be wrong (bad magic, version, truncation, corrupt
// bytes, hostile lengths behind a valid checksum, a foreign compatibility key).
#include "inference/plan/plan_format.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <random>

#include "inference/backend.h"
#include "inference/core/error.h"
#include "inference/ops/activation.h"
#include "inference/builder/builder.h"
#include "inference/plan/plan_cache.h"
#include "inference/plan/plan_test_util.h"
#include "support/shared_data.h"

namespace detstream::inference {
namespace {

namespace fs = std::filesystem;
using namespace plan_test;
using testing::TempDir;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_contains(const std::string& text, std::initializer_list<const char*> words) {
  for (const char* word : words)
    EXPECT_NE(text.find(word), std::string::npos) << "missing '" << word << "' in: " << text;
}

void expect_same_tensor(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.byte_size(), b.byte_size());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.byte_size()), 0);
}

void expect_same_graph(const Graph& a, const Graph& b) {
  EXPECT_EQ(a.opset, b.opset);
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.outputs, b.outputs);
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.values.size(), b.values.size());
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    EXPECT_EQ(a.values[i].name, b.values[i].name);
    EXPECT_EQ(a.values[i].dtype, b.values[i].dtype);
    EXPECT_EQ(a.values[i].shape, b.values[i].shape);
    ASSERT_EQ(a.values[i].is_constant(), b.values[i].is_constant()) << a.values[i].name;
    if (a.values[i].is_constant()) expect_same_tensor(*a.values[i].constant, *b.values[i].constant);
  }
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (std::size_t n = 0; n < a.nodes.size(); ++n) {
    const Node& x = a.nodes[n];
    const Node& y = b.nodes[n];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.op_type, y.op_type);
    EXPECT_EQ(x.opset, y.opset);
    EXPECT_EQ(x.impl, y.impl);
    EXPECT_EQ(x.inputs, y.inputs);
    EXPECT_EQ(x.outputs, y.outputs);
    ASSERT_EQ(x.attributes.size(), y.attributes.size()) << x.name;
    for (const auto& [key, attr] : x.attributes) {
      ASSERT_TRUE(y.attributes.count(key)) << key;
      const Attribute& other = y.attributes.at(key);
      EXPECT_EQ(attr.kind, other.kind) << key;
      EXPECT_EQ(attr.i, other.i) << key;
      EXPECT_EQ(attr.f, other.f) << key;
      EXPECT_EQ(attr.s, other.s) << key;
      EXPECT_EQ(attr.ints, other.ints) << key;
      EXPECT_EQ(attr.floats, other.floats) << key;
      if (attr.kind == Attribute::Kind::kTensor) {
        EXPECT_EQ(attr.tensor.empty(), other.tensor.empty());
        if (!attr.tensor.empty()) expect_same_tensor(attr.tensor, other.tensor);
      }
    }
  }
}

void expect_bitwise_equal_outputs(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) expect_same_tensor(a[i], b[i]);
}

TEST(PlanFormat, RoundTripKeepsEveryFieldAndGivesIdenticalOutputs) {
  const Plan plan = tiny_plan("ref");
  const Plan loaded = deserialize_plan(serialize_plan(plan), "tiny.plan");
  EXPECT_EQ(loaded.backend, plan.backend);
  EXPECT_EQ(loaded.precision, plan.precision);
  EXPECT_EQ(loaded.batch.min, plan.batch.min);
  EXPECT_EQ(loaded.batch.opt, plan.batch.opt);
  EXPECT_EQ(loaded.batch.max, plan.batch.max);
  EXPECT_EQ(loaded.compatibility_key, plan.compatibility_key);
  EXPECT_EQ(loaded.model_hash, plan.model_hash);
  expect_same_graph(plan.graph, loaded.graph);
  // The fused activation survives: the passes ran before serialization, not after loading.
  ASSERT_EQ(loaded.graph.nodes.size(), 2u);
  EXPECT_EQ(loaded.graph.nodes[0].attr_string(ops::kActivationAttribute, ""), "silu");
  expect_bitwise_equal_outputs(run_plan(plan), run_plan(loaded));
}

// --workspace: stored only when set (older readers skip the optional section), read back exactly,
// and part of the build options the plan cache compares.
TEST(PlanFormat, WorkspaceLimitRoundTripsAndIsAbsentWhenUnset) {
  Plan plan = tiny_plan("ref");
  EXPECT_EQ(deserialize_plan(serialize_plan(plan), "tiny.plan").workspace_limit_bytes, 0u);
  const std::string unset = serialize_plan(plan);
  EXPECT_EQ(unset.find("WKSP"), std::string::npos);
  plan.workspace_limit_bytes = std::size_t{64} << 20;
  const std::string set = serialize_plan(plan);
  EXPECT_NE(set.find("WKSP"), std::string::npos);
  const Plan loaded = deserialize_plan(set, "tiny.plan");
  EXPECT_EQ(loaded.workspace_limit_bytes, std::size_t{64} << 20);
  expect_same_graph(plan.graph, loaded.graph);
  BuildOptions options;
  const std::string text = build_options_text(options);
  EXPECT_EQ(text.find("workspace"), std::string::npos) << "unchanged for plans cached before the option: " << text;
  options.workspace_limit_bytes = 1 << 30;
  EXPECT_NE(build_options_text(options).find(";workspace=1073741824"), std::string::npos) << build_options_text(options);
  EXPECT_EQ(build_plan(tiny_plan("ref").graph, options).workspace_limit_bytes, std::size_t{1} << 30);
}

TEST(PlanFormat, RoundTripOnEveryBackendOfThisBuild) {
  for (const char* backend : {"ref", "cpu"}) {
    if (!has_backend(backend)) continue;
    SCOPED_TRACE(backend);
    TempDir dir("plan-roundtrip");
    const Plan plan = tiny_plan(backend);
    save_plan(plan, dir / "tiny.plan");
    const Plan loaded = load_plan(dir / "tiny.plan");
    expect_same_graph(plan.graph, loaded.graph);
    expect_bitwise_equal_outputs(run_plan(plan), run_plan(loaded));
  }
}

TEST(PlanFormat, RealModelRoundTripGivesIdenticalOutputs) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  const std::string backend = has_backend("cpu") ? "cpu" : "ref";
  BuildOptions options;
  options.backend = backend;
  const Plan plan = build_plan_from_onnx(model, options);
  const Plan loaded = deserialize_plan(serialize_plan(plan), "yolov8n_320.plan");
  expect_same_graph(plan.graph, loaded.graph);
  expect_bitwise_equal_outputs(run_plan(plan), run_plan(loaded));
}

TEST(PlanFormat, EveryAttributeKindRoundTrips) {
  Plan plan;
  plan.backend = "ref";
  plan.compatibility_key = backend_named("ref").compatibility_key(Precision::kFp32);
  plan.model_hash = "abc";
  plan.batch = {1, 2, 4};
  Graph& g = plan.graph;
  g.opset = 17;
  g.metadata = {{"task", "detect"}, {"names", "{0: 'a'}"}, {"quote\"key", "value with \"quotes\" and\nnewline"}};
  const int x = g.add_value({"x", DataType::kFloat32, {2, 3}, nullptr});
  const int y = g.add_value({"y", DataType::kFloat32, {2, 3}, nullptr});
  g.add_value({"k", DataType::kInt64, {2}, std::make_shared<const Tensor>(Tensor::from_int64({5, -7}, {2}))});
  g.inputs = {x};
  g.outputs = {y};
  Node node;
  node.name = "identity";
  node.op_type = "Identity";
  node.opset = 13;
  node.impl = "ref";
  node.inputs = {x};
  node.outputs = {y};
  node.attributes["i"] = Attribute::of_int(-1234567890123);
  node.attributes["f"] = Attribute::of_float(-0.125f);
  node.attributes["s"] = Attribute::of_string(std::string("bytes\0with nul", 14));
  node.attributes["ints"] = Attribute::of_ints({1, -2, 3});
  node.attributes["floats"] = Attribute::of_floats({0.5f, -1.5f});
  node.attributes["tensor"] = Attribute::of_tensor(Tensor::from_float({1, 2, 3, 4, 5, 6}, {2, 3}));
  node.attributes["empty_tensor"] = Attribute::of_tensor(Tensor());
  node.attributes["empty_ints"] = Attribute::of_ints({});
  g.nodes.push_back(node);
  const Plan loaded = deserialize_plan(serialize_plan(plan), "attrs.plan");
  expect_same_graph(plan.graph, loaded.graph);
  EXPECT_EQ(loaded.batch.max, 4);
}

TEST(PlanFormat, WeightsAre64ByteAlignedInTheFile) {
  const std::string bytes = serialize_plan(tiny_plan());
  const SectionSpan weights = find_section(bytes, "WGHT");
  ASSERT_GT(weights.size, 0u);
  std::size_t at = weights.offset;
  std::uint64_t count = 0;
  std::memcpy(&count, bytes.data() + at, 8);
  at += 8;
  ASSERT_EQ(count, 3u);  // w1, b1, w2
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t rank = 0, offset = 0, size = 0;
    at += 4 + 1;  // value id, dtype
    std::memcpy(&rank, bytes.data() + at, 8);
    at += 8 + 8 * rank;
    std::memcpy(&offset, bytes.data() + at, 8);
    std::memcpy(&size, bytes.data() + at + 8, 8);
    at += 16;
    EXPECT_EQ(offset % 64, 0u) << "weight " << i;
    EXPECT_LE(offset + size, weights.offset + weights.size);
  }
}

TEST(PlanFormat, HeaderReadsWithoutTheGraphOrWeights) {
  TempDir dir("plan-header");
  const Plan plan = tiny_plan();
  const std::string path = dir / "tiny.plan";
  save_plan(plan, path, {{"options", "backend=ref"}, {"note", "test"}});
  std::string bytes = read_bytes(path);
  // Damage the weights: the header is still readable (it never touches them); a full load is not.
  const SectionSpan weights = find_section(bytes, "WGHT");
  bytes[weights.offset + weights.size - 1] ^= 0x5a;
  write_bytes(path, bytes);

  const PlanHeader header = read_plan_header(path);
  EXPECT_EQ(header.format_version, kPlanFormatVersion);
  EXPECT_EQ(header.file_size, bytes.size());
  EXPECT_EQ(header.compatibility_key, plan.compatibility_key);
  EXPECT_EQ(header.backend, "ref");
  EXPECT_EQ(header.precision, Precision::kFp32);
  EXPECT_EQ(header.batch.opt, 1);
  EXPECT_EQ(header.model_hash, plan.model_hash);
  EXPECT_EQ(header.metadata, plan.graph.metadata);
  EXPECT_EQ(header.build_info.at("options"), "backend=ref");
  EXPECT_EQ(header.build_info.at("note"), "test");
  EXPECT_EQ(header.build_info.at("detstream_version"), "0.1.0");
  ASSERT_EQ(header.inputs.size(), 1u);
  EXPECT_EQ(header.inputs[0].name, "images");
  EXPECT_EQ(header.inputs[0].dtype, DataType::kFloat32);
  EXPECT_EQ(header.inputs[0].shape, (Shape{1, 3, 32, 32}));
  ASSERT_EQ(header.outputs.size(), 1u);
  EXPECT_EQ(header.outputs[0].shape, (Shape{1, 6, 32, 32}));
  expect_contains(error_of([&] { load_plan(path); }), {"checksum"});
}

TEST(PlanFormat, AnyCorruptByteIsAChecksumError) {
  const std::string good = serialize_plan(tiny_plan());
  for (const char* section : {"CKEY", "META", "GRPH", "WGHT"}) {
    const SectionSpan span = find_section(good, section);
    std::string bad = good;
    bad[span.offset + span.size / 2] ^= 0x01;
    const std::string message = error_of([&] { deserialize_plan(bad, "bad.plan"); });
    expect_contains(message, {"bad.plan", "checksum mismatch", "corrupt", "rebuild"});
  }
  std::string bad = good;
  bad[bad.size() - 1] ^= 0x80;  // the checksum itself
  expect_contains(error_of([&] { deserialize_plan(bad, "bad.plan"); }), {"checksum mismatch"});
}

TEST(PlanFormat, TruncationAtAnyPointIsReportedAsTruncated) {
  TempDir dir("plan-truncated");
  const std::string good = serialize_plan(tiny_plan());
  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{8}, std::size_t{20}, std::size_t{24},
                          std::size_t{100}, good.size() / 2, good.size() - 9, good.size() - 1}) {
    SCOPED_TRACE(cut);
    const std::string path = dir / ("cut" + std::to_string(cut) + ".plan");
    write_bytes(path, good.substr(0, cut));
    const std::string message = error_of([&] { load_plan(path); });
    expect_contains(message, {"truncated", "rebuild"});
    EXPECT_NE(message.find(path), std::string::npos) << message;
    if (cut >= 24) expect_contains(error_of([&] { read_plan_header(path); }), {"truncated"});
  }
}

TEST(PlanFormat, TrailingBytesAreCorruption) {
  std::string bytes = serialize_plan(tiny_plan());
  bytes += "extra";
  expect_contains(error_of([&] { deserialize_plan(bytes, "long.plan"); }), {"corrupt", "rebuild"});
}

TEST(PlanFormat, NotAPlanFileIsSaidSo) {
  TempDir dir("plan-magic");
  testing::write_tiny_onnx(dir.path() / "model.plan");  // an ONNX file under a .plan name
  expect_contains(error_of([&] { load_plan(dir / "model.plan"); }), {"not a detstream plan file"});
  expect_contains(error_of([&] { read_plan_header(dir / "model.plan"); }), {"not a detstream plan file"});
  std::string bytes = serialize_plan(tiny_plan());
  bytes[0] = 'X';
  expect_contains(error_of([&] { deserialize_plan(bytes, "x.plan"); }),
                  {"not a detstream plan file", "detstream build"});
  expect_contains(error_of([&] { load_plan(dir / "missing.plan"); }), {"missing.plan", "no such file"});
}

TEST(PlanFormat, OtherFormatVersionsAskForARebuild) {
  const std::string good = serialize_plan(tiny_plan());
  for (std::uint32_t version : {0u, 2u, 77u}) {
    std::string bytes = good;
    std::memcpy(bytes.data() + 8, &version, 4);
    const std::string message = error_of([&] { deserialize_plan(bytes, "v.plan"); });
    expect_contains(message, {"format version", std::to_string(version).c_str(), "rebuild"});
    expect_contains(message, {version > kPlanFormatVersion ? "newer detstream" : "older detstream"});
  }
}

TEST(PlanFormat, ForeignCompatibilityKeyIsRefusedByEngineCreate) {
  TempDir dir("plan-key");
  std::string bytes = serialize_plan(tiny_plan());
  const SectionSpan key = find_section(bytes, "CKEY");
  ASSERT_EQ(bytes.substr(key.offset, key.size), "ref/any/fp32");
  bytes.replace(key.offset, key.size, "ref/ANY/fp32");  // same length: only the key changes
  reseal(bytes);
  write_bytes(dir / "foreign.plan", bytes);
  Plan plan = load_plan(dir / "foreign.plan");  // loading is fine: inspect must be able to show it
  EXPECT_EQ(plan.compatibility_key, "ref/ANY/fp32");
  expect_contains(error_of([&] { Engine::create(std::move(plan)); }), {"ref/ANY/fp32", "rebuild"});
}

TEST(PlanFormat, HostileBytesBehindAValidChecksumNeverCrash) {
  // Mutations are resealed so they get past the checksum and reach the section parsers; each must
  // load or throw Error (never crash, hang, or throw anything else such as bad_alloc).
  const std::string good = serialize_plan(tiny_plan());
  std::mt19937 random(1234);
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = good;
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = 24 + random() % (bytes.size() - 32);
      switch (random() % 3) {
        case 0: bytes[at] = static_cast<char>(random()); break;
        case 1: bytes[at] = static_cast<char>(0xff); break;
        default: {  // a huge little-endian length or count
          const std::uint64_t huge = random() % 2 ? ~std::uint64_t{0} : (std::uint64_t{1} << (40 + random() % 23));
          std::memcpy(bytes.data() + at, &huge, std::min<std::size_t>(8, bytes.size() - 8 - at));
        }
      }
    }
    reseal(bytes);
    try {
      (void)deserialize_plan(bytes, "hostile.plan");
    } catch (const Error&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL() << "trial " << trial << " threw a non-Error exception: " << e.what();
    }
  }
  EXPECT_GT(rejected, 2000);  // most edits must be caught
}

TEST(PlanFormat, SaveReplacesAtomicallyAndLeavesNoTemporaryFiles) {
  TempDir dir("plan-save");
  const std::string path = dir / "tiny.plan";
  write_bytes(path, "an older file");
  save_plan(tiny_plan(), path);
  save_plan(tiny_plan(), path);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path())) names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"tiny.plan"});
  EXPECT_NO_THROW(load_plan(path));
  expect_contains(error_of([&] { save_plan(tiny_plan(), dir / "no/such/dir/x.plan"); }),
                  {"cannot write plan", "x.plan"});
}

}  // namespace
}  // namespace detstream::inference
