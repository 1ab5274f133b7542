#include "postprocess/class_names.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace detstream::postprocess {

namespace {

// A tiny recursive-descent reader over the literal; every method returns false on bad input
// instead of throwing, so a malformed metadata entry degrades to fallback names.
class LiteralReader {
 public:
  explicit LiteralReader(std::string_view text) : text_(text) {}

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  bool at_end() {
    skip_space();
    return pos_ == text_.size();
  }

  bool read_int(int& value) {
    skip_space();
    const std::size_t start = pos_;
    long long v = 0;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      v = v * 10 + (text_[pos_] - '0');
      if (v > std::numeric_limits<int>::max() / 2) return false;  // absurd ids are not class ids
      ++pos_;
    }
    value = static_cast<int>(v);
    return pos_ > start;
  }

  // A Python string literal in ' or " quotes with the escapes str() emits.
  bool read_string(std::string& out) {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) return false;
    const char quote = text_[pos_++];
    out.clear();
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == quote) return true;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return false;
      const char e = text_[pos_++];
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        default: out.push_back(e); break;  // \\, \', \" and anything else: the character itself
      }
    }
    return false;  // unterminated
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

bool read_dict(LiteralReader& in, std::map<int, std::string>& names) {
  if (in.consume('}')) return true;
  while (true) {
    int id = 0;
    std::string name;
    if (!in.read_int(id) || !in.consume(':') || !in.read_string(name)) return false;
    names[id] = name;
    if (in.consume('}')) return true;
    if (!in.consume(',')) return false;
    if (in.consume('}')) return true;  // trailing comma
  }
}

bool read_list(LiteralReader& in, std::map<int, std::string>& names) {
  if (in.consume(']')) return true;
  for (int id = 0;; ++id) {
    std::string name;
    if (!in.read_string(name)) return false;
    names[id] = name;
    if (in.consume(']')) return true;
    if (!in.consume(',')) return false;
    if (in.consume(']')) return true;
  }
}

}  // namespace

std::string fallback_class_name(int class_id) { return "class" + std::to_string(class_id); }

std::optional<std::map<int, std::string>> parse_class_names(std::string_view text) {
  LiteralReader in(text);
  std::map<int, std::string> names;
  bool ok = false;
  if (in.consume('{')) {
    ok = read_dict(in, names);
  } else if (in.consume('[')) {
    ok = read_list(in, names);
  }
  if (!ok || !in.at_end()) return std::nullopt;
  return names;
}

ClassNames class_names_from_metadata(const std::map<std::string, std::string>& metadata, int num_classes) {
  ClassNames names;
  names.reserve(static_cast<std::size_t>(std::max(num_classes, 0)));
  std::optional<std::map<int, std::string>> parsed;
  if (const auto it = metadata.find("names"); it != metadata.end()) parsed = parse_class_names(it->second);
  for (int id = 0; id < num_classes; ++id) {
    const bool named = parsed && parsed->count(id) != 0;
    names.push_back(named ? parsed->at(id) : fallback_class_name(id));
  }
  return names;
}

std::optional<int> metadata_class_count(const std::map<std::string, std::string>& metadata) {
  const auto it = metadata.find("names");
  if (it == metadata.end()) return std::nullopt;
  const auto parsed = parse_class_names(it->second);
  if (!parsed || parsed->empty()) return std::nullopt;
  return parsed->rbegin()->first + 1;
}

}  // namespace detstream::postprocess
