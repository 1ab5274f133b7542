// The timing cache's file format and lookups (timing_cache.h).
#include "inference/cuda/timing_cache.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "inference/core/error.h"

namespace detstream::inference::cuda {

namespace {

constexpr const char* kHeader = "detstream-timing-cache 1";

// Tabs and newlines separate fields and entries; keys never legitimately hold them.
std::string sanitized(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

TimingCache::TimingCache(std::string device_key) : device_key_(sanitized(std::move(device_key))) {}

bool TimingCache::load(const std::string& path, std::string* note) {
  std::ifstream in(path);
  if (!in) return true;
  std::string line;
  if (!std::getline(in, line) || line != kHeader) {
    if (note) *note = path + " is not a detstream timing cache (first line is not \"" + kHeader + "\")";
    return false;
  }
  std::lock_guard lock(mutex_);
  while (std::getline(in, line)) {
    const std::size_t first = line.find('\t');
    const std::size_t second = first == std::string::npos ? first : line.find('\t', first + 1);
    if (second == std::string::npos) {
      ++skipped_lines_;
      continue;
    }
    std::istringstream fields(line.substr(second + 1));
    CachedTactic t;
    if (!(fields >> t.implementation >> t.tile >> t.splits >> t.cudnn_algorithm >> t.cudnn_math >> t.cudnn_workspace)) {
      ++skipped_lines_;
      continue;
    }
    entries_[{line.substr(0, first), line.substr(first + 1, second - first - 1)}] = t;
  }
  return true;
}

void TimingCache::save(const std::string& path) const {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) throw Error("cannot write the timing cache " + temporary);
    out << kHeader << '\n';
    std::lock_guard lock(mutex_);
    for (const auto& [key, t] : entries_) {
      out << key.first << '\t' << key.second << '\t' << t.implementation << ' ' << t.tile << ' ' << t.splits << ' '
          << t.cudnn_algorithm << ' ' << t.cudnn_math << ' ' << t.cudnn_workspace << '\n';
    }
    if (!out.flush()) throw Error("cannot write the timing cache " + temporary);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) throw Error("cannot rename " + temporary + " to " + path);
}

std::optional<CachedTactic> TimingCache::find(const std::string& signature) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find({device_key_, sanitized(signature)});
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void TimingCache::insert(const std::string& signature, const CachedTactic& tactic) {
  std::lock_guard lock(mutex_);
  entries_[{device_key_, sanitized(signature)}] = tactic;
}

std::size_t TimingCache::entries_for_this_device() const {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const auto& entry : entries_) count += entry.first.first == device_key_ ? 1 : 0;
  return count;
}

}  // namespace detstream::inference::cuda
