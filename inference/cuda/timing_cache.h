// Timing cache: the convolution tactic each layer won when it was timed, so that building an
// engine again (same model, or any model sharing layer shapes) skips the timing (TensorRT's
// --timingCacheFile). Pure C++ (no CUDA headers): tested without a GPU.
// - Key: the device key (GPU name, compute capability, CUDA runtime and cuDNN versions: a tactic
//   timed on another GPU or library says nothing here) plus the layer signature (geometry,
//   strides, types, activation, residual: everything the candidates' speed depends on).
// - File: text, one header line "detstream-timing-cache 1", then one entry per line:
//   device-key TAB signature TAB implementation tile splits algorithm math workspace.
//   Entries of other devices are kept when the file is saved again (one file can serve several
//   GPUs) but never returned; malformed lines are skipped and counted.
// Thread-safe (one mutex): engines may be built concurrently with one cache.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace detstream::inference::cuda {

// What a convolution layer needs to adopt its tactic without timing (conv_layer.cpp's meaning).
struct CachedTactic {
  int implementation = 0;
  int tile = -1;
  int splits = 1;
  int cudnn_algorithm = 0;
  int cudnn_math = 0;
  std::size_t cudnn_workspace = 0;
  bool operator==(const CachedTactic&) const = default;
};

class TimingCache {
 public:
  explicit TimingCache(std::string device_key);

  // Merges the entries of `path`. A missing file is an empty cache (returns true); a file that
  // is not a timing cache returns false with the reason in *note and loads nothing.
  bool load(const std::string& path, std::string* note = nullptr);
  // Writes every entry (all devices) to `path`, through a temporary file renamed into place.
  void save(const std::string& path) const;

  std::optional<CachedTactic> find(const std::string& signature) const;  // this device only
  void insert(const std::string& signature, const CachedTactic& tactic);

  const std::string& device_key() const { return device_key_; }
  std::size_t entries_for_this_device() const;
  std::size_t skipped_lines() const { return skipped_lines_; }

 private:
  std::string device_key_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, CachedTactic> entries_;  // (device, signature)
  std::size_t skipped_lines_ = 0;
};

}  // namespace detstream::inference::cuda
