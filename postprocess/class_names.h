// Class names from a model's metadata. Ultralytics exports store them as a Python dict literal,
// e.g. "{0: 'person', 1: 'bicycle'}" (str(dict): single quotes, or double quotes when a name holds
// an apostrophe, with backslash escapes); some tools write a list "['a', 'b']" instead. Names the
// metadata lacks become "class<N>". Pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace detstream::postprocess {

using ClassNames = std::vector<std::string>;  // indexed by class id

// "class<N>": the name of a class the metadata does not name.
std::string fallback_class_name(int class_id);

// Parses a dict ({id: 'name', ...}) or list (['name', ...]) literal into an id -> name map.
// std::nullopt when the text is not such a literal (never throws, never guesses).
std::optional<std::map<int, std::string>> parse_class_names(std::string_view text);

// Exactly `num_classes` names: from metadata["names"] where it parses and has the id, otherwise
// the fallback. Ids the metadata names beyond num_classes are ignored.
ClassNames class_names_from_metadata(const std::map<std::string, std::string>& metadata, int num_classes);

// The number of classes metadata["names"] declares (highest id + 1), or std::nullopt.
std::optional<int> metadata_class_count(const std::map<std::string, std::string>& metadata);

}  // namespace detstream::postprocess
