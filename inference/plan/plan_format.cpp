#include "inference/plan/plan_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "inference/core/error.h"
#include "inference/plan/byte_io.h"
#include "inference/plan/graph_codec.h"

namespace detstream::inference {

namespace {

using plan_io::ByteReader;
using plan_io::ByteWriter;
using Json = nlohmann::json;

constexpr std::string_view kDetstreamVersion = "0.1.0";
constexpr std::size_t kPreambleBytes = 24;  // magic, version, reserved, file size
constexpr std::size_t kSectionHeaderBytes = 12;
constexpr std::size_t kChecksumBytes = 8;
// The small sections (key, names, JSON) never come near this; a larger one is a hostile file.
constexpr std::uint64_t kMaxSmallSectionBytes = std::uint64_t{16} << 20;

constexpr std::uint32_t tag_of(const char (&text)[5]) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(text[0])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(text[1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(text[2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(text[3])) << 24;
}
constexpr std::uint32_t kKeySection = tag_of("CKEY");
constexpr std::uint32_t kBackendSection = tag_of("BEND");
constexpr std::uint32_t kPrecisionSection = tag_of("PREC");
constexpr std::uint32_t kBatchSection = tag_of("BTCH");
constexpr std::uint32_t kHashSection = tag_of("HASH");
constexpr std::uint32_t kWorkspaceSection = tag_of("WKSP");  // optional: only when a limit is set
constexpr std::uint32_t kMetaSection = tag_of("META");
constexpr std::uint32_t kGraphSection = tag_of("GRPH");
constexpr std::uint32_t kWeightsSection = tag_of("WGHT");
constexpr std::uint32_t kHeaderSections[] = {kKeySection,   kBackendSection, kPrecisionSection,
                                             kBatchSection, kHashSection,    kMetaSection};

std::string tag_name(std::uint32_t tag) {
  std::string name(4, '?');
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>((tag >> (8 * i)) & 0xff);
    if (c >= 0x20 && c < 0x7f) name[static_cast<std::size_t>(i)] = c;
  }
  return name;
}

bool is_header_section(std::uint32_t tag) {
  for (std::uint32_t t : kHeaderSections) {
    if (t == tag) return true;
  }
  return false;
}

// ---------------------------------------------------------------- writing

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

Json describe_io(const Graph& graph, const std::vector<int>& ids) {
  Json list = Json::array();
  for (int id : ids) {
    const Value& v = graph.value(id);
    list.push_back({{"name", v.name},
                    {"dtype", std::string(to_string(v.dtype))},
                    {"dtype_code", static_cast<int>(v.dtype)},
                    {"shape", v.shape}});
  }
  return list;
}

std::string metadata_json(const Plan& plan, const std::map<std::string, std::string>& build_info) {
  Json build = Json::object();
  build["detstream_version"] = std::string(kDetstreamVersion);
  build["format_version"] = std::to_string(kPlanFormatVersion);
  build["created_utc"] = utc_now();
  for (const auto& [key, value] : build_info) build[key] = value;
  Json meta = {{"model", plan.graph.metadata},
               {"build", build},
               {"inputs", describe_io(plan.graph, plan.graph.inputs)},
               {"outputs", describe_io(plan.graph, plan.graph.outputs)}};
  return meta.dump(2);
}

void write_section(ByteWriter& out, std::uint32_t tag, const std::function<void()>& payload) {
  out.pod<std::uint32_t>(tag);
  const std::size_t length_at = out.size();
  out.pod<std::uint64_t>(0);
  payload();
  out.patch_u64(length_at, out.size() - length_at - sizeof(std::uint64_t));
}

// ---------------------------------------------------------------- reading

[[noreturn]] void fail_truncated(const std::string& label, std::uint64_t actual, const std::string& expected) {
  throw Error(label + ": the plan file is truncated (" + std::to_string(actual) + " bytes, " + expected +
              "): it was cut short by an interrupted write or copy; rebuild it from the ONNX model (detstream build) "
              "or copy it again");
}

// Checks magic, version and size, in the order that gives the most useful message. `head` is
// the file's first bytes (up to kPreambleBytes); returns the declared file size.
std::uint64_t check_preamble(std::string_view head, std::uint64_t actual_size, const std::string& label) {
  if (actual_size == 0) fail_truncated(label, 0, "an empty file");
  const std::size_t magic_bytes = std::min(head.size(), sizeof kPlanMagic);
  if (std::memcmp(head.data(), kPlanMagic, magic_bytes) != 0) {
    throw Error(label +
                " is not a detstream plan file (it does not start with \"DSPLAN\"): give a .plan written by "
                "`detstream build`, or the .onnx model itself");
  }
  if (head.size() < kPreambleBytes) {
    fail_truncated(label, actual_size, "shorter than the " + std::to_string(kPreambleBytes) + "-byte header");
  }
  std::uint32_t version = 0;
  std::uint64_t declared = 0;
  std::memcpy(&version, head.data() + 8, sizeof version);
  std::memcpy(&declared, head.data() + 16, sizeof declared);
  if (version != kPlanFormatVersion) {
    throw Error(label + ": plan format version " + std::to_string(version) + " was written by " +
                (version > kPlanFormatVersion ? "a newer" : "an older") + " detstream (this one reads version " +
                std::to_string(kPlanFormatVersion) +
                "): rebuild the plan from the ONNX model with this detstream "
                "(detstream build, or pass the .onnx)");
  }
  if (declared < kPreambleBytes + kChecksumBytes) {
    throw Error(label + ": malformed plan (declared size " + std::to_string(declared) +
                " is smaller than a header): the file is corrupt; rebuild it from the ONNX model (detstream build)");
  }
  if (actual_size < declared) fail_truncated(label, actual_size, "the header says " + std::to_string(declared));
  if (actual_size > declared) {
    throw Error(label + ": the plan file is corrupt (" + std::to_string(actual_size - declared) +
                " unexpected bytes after its end): rebuild it from the ONNX model (detstream build)");
  }
  return declared;
}

void parse_header_section(std::uint32_t tag, ByteReader& in, PlanHeader& header);

Json parse_meta_json(ByteReader& in) {
  const std::string_view text = in.take(in.remaining(), "metadata JSON");
  Json meta = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (meta.is_discarded() || !meta.is_object()) in.fail("metadata is not a JSON object");
  return meta;
}

std::map<std::string, std::string> string_map(const Json& object, const char* key, ByteReader& in) {
  std::map<std::string, std::string> out;
  const auto it = object.find(key);
  if (it == object.end()) return out;
  if (!it->is_object()) in.fail(std::string("metadata '") + key + "' is not an object");
  for (const auto& [k, v] : it->items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

std::vector<PlanTensorInfo> tensor_infos(const Json& object, const char* key, ByteReader& in) {
  std::vector<PlanTensorInfo> out;
  const auto it = object.find(key);
  if (it == object.end()) return out;
  if (!it->is_array()) in.fail(std::string("metadata '") + key + "' is not a list");
  for (const Json& item : *it) {
    const auto name = item.find("name"), code = item.find("dtype_code"), shape = item.find("shape");
    if (!item.is_object() || name == item.end() || !name->is_string() || code == item.end() ||
        !code->is_number_integer() || shape == item.end() || !shape->is_array()) {
      in.fail(std::string("metadata '") + key + "' has an entry without name, dtype_code and shape");
    }
    PlanTensorInfo info{name->get<std::string>(), data_type_from_onnx(code->get<int>()), {}};
    for (const Json& d : *shape) {
      if (!d.is_number_integer()) in.fail(std::string("metadata '") + key + "' has a non-integer dimension");
      info.shape.push_back(d.get<std::int64_t>());
    }
    out.push_back(std::move(info));
  }
  return out;
}

void parse_header_section(std::uint32_t tag, ByteReader& in, PlanHeader& header) {
  if (tag == kKeySection) {
    header.compatibility_key = std::string(in.take(in.remaining(), "compatibility key"));
  } else if (tag == kBackendSection) {
    header.backend = std::string(in.take(in.remaining(), "backend name"));
  } else if (tag == kHashSection) {
    header.model_hash = std::string(in.take(in.remaining(), "model hash"));
  } else if (tag == kPrecisionSection) {
    const auto code = in.pod<std::uint8_t>();
    if (code > static_cast<std::uint8_t>(Precision::kFp16)) in.fail("unknown precision code " + std::to_string(code));
    header.precision = static_cast<Precision>(code);
  } else if (tag == kBatchSection) {
    header.batch.min = in.pod<std::int32_t>();
    header.batch.opt = in.pod<std::int32_t>();
    header.batch.max = in.pod<std::int32_t>();
    if (header.batch.min < 1 || header.batch.min > header.batch.opt || header.batch.opt > header.batch.max) {
      in.fail("batch profile " + std::to_string(header.batch.min) + "/" + std::to_string(header.batch.opt) + "/" +
              std::to_string(header.batch.max) + " is not 1 <= min <= opt <= max");
    }
  } else if (tag == kMetaSection) {
    header.metadata_json = std::string(in.data());
    const Json meta = parse_meta_json(in);
    header.metadata = string_map(meta, "model", in);
    header.build_info = string_map(meta, "build", in);
    header.inputs = tensor_infos(meta, "inputs", in);
    header.outputs = tensor_infos(meta, "outputs", in);
  }
  if (tag != kMetaSection && in.remaining() != 0) in.fail("section " + tag_name(tag) + " is longer than its content");
}

void check_header_complete(const PlanHeader& header, const std::vector<std::uint32_t>& seen, const std::string& label) {
  for (std::uint32_t tag : kHeaderSections) {
    if (std::find(seen.begin(), seen.end(), tag) == seen.end()) {
      throw Error(label + ": malformed plan (section " + tag_name(tag) +
                  " is missing): the file is corrupt or was not written by this detstream; rebuild it from the ONNX "
                  "model (detstream build)");
    }
  }
  if (header.backend.empty() || header.compatibility_key.empty()) {
    throw Error(label + ": malformed plan (empty backend or compatibility key): rebuild it from the ONNX model");
  }
}

std::string where(const std::string& label, std::uint32_t tag) { return label + " (section " + tag_name(tag) + ")"; }

std::uint64_t file_size_of(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error("cannot open plan '" + path +
                "': " + (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("cannot read plan '" + path + "': " + ec.message());
  return size;
}

}  // namespace

std::uint64_t plan_checksum(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::uint64_t hash = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  return hash;
}

std::string serialize_plan(const Plan& plan, const std::map<std::string, std::string>& build_info) {
  ByteWriter out;
  out.raw(kPlanMagic, sizeof kPlanMagic);
  out.pod<std::uint32_t>(kPlanFormatVersion);
  out.pod<std::uint32_t>(0);  // reserved flags
  out.pod<std::uint64_t>(0);  // file size, patched below
  write_section(out, kKeySection, [&] { out.raw(plan.compatibility_key.data(), plan.compatibility_key.size()); });
  write_section(out, kBackendSection, [&] { out.raw(plan.backend.data(), plan.backend.size()); });
  write_section(out, kPrecisionSection, [&] { out.pod<std::uint8_t>(static_cast<std::uint8_t>(plan.precision)); });
  write_section(out, kBatchSection, [&] {
    out.pod<std::int32_t>(plan.batch.min);
    out.pod<std::int32_t>(plan.batch.opt);
    out.pod<std::int32_t>(plan.batch.max);
  });
  write_section(out, kHashSection, [&] { out.raw(plan.model_hash.data(), plan.model_hash.size()); });
  if (plan.workspace_limit_bytes > 0) {
    write_section(out, kWorkspaceSection, [&] { out.pod<std::uint64_t>(plan.workspace_limit_bytes); });
  }
  const std::string meta = metadata_json(plan, build_info);
  write_section(out, kMetaSection, [&] { out.raw(meta.data(), meta.size()); });
  write_section(out, kGraphSection, [&] { plan_io::write_graph(plan.graph, out); });
  write_section(out, kWeightsSection, [&] { plan_io::write_weights(plan.graph, out); });
  out.patch_u64(16, out.size() + kChecksumBytes);
  out.pod<std::uint64_t>(plan_checksum(out.bytes().data(), out.size()));
  return std::move(out.bytes());
}

void save_plan(const Plan& plan, const std::string& path, const std::map<std::string, std::string>& build_info) {
  const std::string bytes = serialize_plan(plan, build_info);
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::random_device random;
  std::string temp_name(".");
  temp_name.append(target.filename().string())
      .append(".tmp-")
      .append(std::to_string(::getpid()))
      .append("-")
      .append(std::to_string(random()));
  const std::string temp = (dir / temp_name).string();
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot write plan '" + path + "': " + std::strerror(errno));
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  const int write_errno = errno;
  const bool ok = written == bytes.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = ok ? errno : write_errno;
    ::unlink(temp.c_str());
    throw Error("cannot write plan '" + path + "': " + std::strerror(err ? err : EIO));
  }
}

Plan deserialize_plan(const std::string& bytes, const std::string& label) {
  const std::uint64_t size = check_preamble(std::string_view(bytes).substr(0, kPreambleBytes), bytes.size(), label);
  const std::size_t body_end = static_cast<std::size_t>(size) - kChecksumBytes;
  std::uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + body_end, sizeof stored);
  const std::uint64_t computed = plan_checksum(bytes.data(), body_end);
  if (stored != computed) {
    char text[96];
    std::snprintf(text, sizeof text, "stored %016llx, computed %016llx", static_cast<unsigned long long>(stored),
                  static_cast<unsigned long long>(computed));
    throw Error(label + ": plan checksum mismatch (" + text +
                "): the file is corrupt; rebuild it from the ONNX model (detstream build)");
  }

  PlanHeader header;
  std::vector<std::uint32_t> seen;
  std::optional<ByteReader> graph_section, weights_section;
  std::uint64_t workspace_limit = 0;
  ByteReader sections(std::string_view(bytes).substr(kPreambleBytes, body_end - kPreambleBytes), kPreambleBytes, label);
  while (sections.remaining() > 0) {
    const auto tag = sections.pod<std::uint32_t>();
    const auto length = sections.pod<std::uint64_t>();
    const std::uint64_t base = sections.absolute_position();
    ByteReader payload(sections.take(length, "section"), base, where(label, tag));
    if (std::find(seen.begin(), seen.end(), tag) != seen.end())
      sections.fail("section " + tag_name(tag) + " appears twice");
    seen.push_back(tag);
    if (is_header_section(tag)) parse_header_section(tag, payload, header);
    if (tag == kGraphSection) graph_section = payload;
    if (tag == kWeightsSection) weights_section = payload;
    if (tag == kWorkspaceSection) {
      workspace_limit = payload.pod<std::uint64_t>();
      if (payload.remaining() != 0) payload.fail("section WKSP is longer than its content");
    }
    // Unknown sections are skipped: a later writer of the same version may add optional ones.
  }
  check_header_complete(header, seen, label);
  if (!graph_section || !weights_section) sections.fail("the graph or weights section is missing");

  std::vector<char> constant_flags;
  Plan plan;
  plan.graph = plan_io::read_graph(*graph_section, constant_flags);
  plan_io::read_weights(*weights_section, plan.graph, constant_flags);
  plan_io::validate_shapes(plan.graph, *graph_section);
  plan.graph.metadata = std::move(header.metadata);
  plan.backend = std::move(header.backend);
  plan.precision = header.precision;
  plan.batch = header.batch;
  plan.compatibility_key = std::move(header.compatibility_key);
  plan.model_hash = std::move(header.model_hash);
  plan.workspace_limit_bytes = static_cast<std::size_t>(workspace_limit);
  return plan;
}

Plan load_plan(const std::string& path) {
  const std::uint64_t size = file_size_of(path);
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error("cannot open plan '" + path + "': not readable");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(size));
  bytes.resize(static_cast<std::size_t>(file.gcount()));
  return deserialize_plan(bytes, path);
}

PlanHeader read_plan_header(const std::string& path) {
  const std::uint64_t size = file_size_of(path);
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error("cannot open plan '" + path + "': not readable");
  std::string head(kPreambleBytes, '\0');
  file.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(file.gcount()));
  PlanHeader header;
  header.file_size = check_preamble(head, size, path);
  header.format_version = kPlanFormatVersion;

  // Walk the section headers, reading only the small sections' payloads.
  const std::uint64_t body_end = header.file_size - kChecksumBytes;
  std::uint64_t offset = kPreambleBytes;
  std::vector<std::uint32_t> seen;
  auto malformed = [&](const std::string& detail) { ByteReader(std::string_view(), offset, path).fail(detail); };
  while (offset < body_end && seen.size() < std::size(kHeaderSections)) {
    if (body_end - offset < kSectionHeaderBytes) malformed("section header runs past the end");
    char raw[kSectionHeaderBytes];
    file.seekg(static_cast<std::streamoff>(offset));
    if (!file.read(raw, sizeof raw)) malformed("unreadable section header");
    std::uint32_t tag = 0;
    std::uint64_t length = 0;
    std::memcpy(&tag, raw, sizeof tag);
    std::memcpy(&length, raw + sizeof tag, sizeof length);
    offset += kSectionHeaderBytes;
    if (length > body_end - offset) malformed("section " + tag_name(tag) + " runs past the end of the file");
    if (is_header_section(tag)) {
      if (length > kMaxSmallSectionBytes) malformed("section " + tag_name(tag) + " is implausibly large");
      if (std::find(seen.begin(), seen.end(), tag) != seen.end())
        malformed("section " + tag_name(tag) + " appears twice");
      std::string payload(static_cast<std::size_t>(length), '\0');
      if (!file.read(payload.data(), static_cast<std::streamsize>(length))) malformed("unreadable section");
      ByteReader reader(payload, offset, where(path, tag));
      parse_header_section(tag, reader, header);
      seen.push_back(tag);
    }
    offset += length;
  }
  check_header_complete(header, seen, path);
  return header;
}

}  // namespace detstream::inference
