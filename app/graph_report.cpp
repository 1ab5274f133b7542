#include "app/graph_report.h"

#include <regex>
#include <set>

#include "inference/ops/activation.h"

namespace detstream::app {

namespace {

using inference::Graph;
using inference::kNoValue;
using inference::Node;

std::string output_shapes(const Graph& graph, const Node& node) {
  std::string text;
  for (int id : node.outputs) {
    if (id == kNoValue) continue;
    if (!text.empty()) text += ", ";
    text += inference::to_string(graph.value(id).shape);
  }
  return text;
}

std::string shorten(const std::string& text, std::size_t limit) {
  if (text.size() <= limit) return text;
  return text.substr(0, limit - 3) + "...";
}

}  // namespace

TextTable io_table(const Graph& graph, const std::vector<int>& ids) {
  TextTable table;
  for (int id : ids) {
    const auto& v = graph.value(id);
    table.add_row({v.name, std::string(inference::to_string(v.dtype)), inference::to_string(v.shape)});
  }
  return table;
}

int class_name_count(const std::string& names) {
  static const std::regex entry(R"((\d+)\s*:\s*['"])");
  return static_cast<int>(
      std::distance(std::sregex_iterator(names.begin(), names.end(), entry), std::sregex_iterator()));
}

TextTable metadata_table(const std::map<std::string, std::string>& metadata) {
  TextTable table;
  for (const char* key : {"task", "stride", "imgsz", "batch"}) {
    if (const auto it = metadata.find(key); it != metadata.end()) table.add_row({key, it->second});
  }
  if (const auto it = metadata.find("names"); it != metadata.end()) {
    table.add_row({"names", std::to_string(class_name_count(it->second)) + " classes: " + shorten(it->second, 60)});
  }
  static const std::set<std::string> shown = {"task", "stride", "imgsz", "batch", "names"};
  for (const auto& [key, value] : metadata) {
    if (!shown.count(key)) table.add_row({key, shorten(value, 70)});
  }
  if (table.empty()) table.add_row({"(none)"});
  return table;
}

TextTable layer_table(const Graph& graph) {
  TextTable table({"#", "op", "impl", "activation", "name", "output"});
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    const std::string activation = node.attr_string(inference::ops::kActivationAttribute, "-");
    table.add_row({std::to_string(i), node.op_type, node.impl.empty() ? "-" : node.impl, activation, node.name,
                   output_shapes(graph, node)});
  }
  return table;
}

namespace {

// What became of an imported node after the passes: kept (its shapes, and any activation
// fused into it), folded into a constant, fused into another node, or removed.
std::string fate_of(const Graph& imported, const Node& node, const Graph& built,
                    const std::map<std::string, std::size_t>& built_nodes, const std::vector<int>& producer) {
  if (const auto it = built_nodes.find(node.name); it != built_nodes.end()) {
    const Node& kept = built.nodes[it->second];
    const std::string activation = kept.attr_string(inference::ops::kActivationAttribute, "");
    return output_shapes(built, kept) + (activation.empty() ? "" : " (+" + activation + ")");
  }
  for (int id : node.outputs) {
    if (id == kNoValue) continue;
    const int after = built.find_value(imported.value(id).name);
    if (after == kNoValue) continue;
    if (built.value(after).is_constant()) return "folded to a constant";
    const int by = producer[static_cast<std::size_t>(after)];
    if (by >= 0) return "fused into " + built.nodes[static_cast<std::size_t>(by)].name;
  }
  return "removed (fused or dead)";
}

}  // namespace

TextTable imported_layer_table(const Graph& imported, const Graph* built) {
  TextTable table({"#", "op", "name", built ? "after the passes" : "output"});
  std::map<std::string, std::size_t> built_nodes;
  std::vector<int> producer;
  if (built) {
    producer.assign(built->values.size(), -1);
    for (std::size_t n = 0; n < built->nodes.size(); ++n) {
      built_nodes.emplace(built->nodes[n].name, n);
      for (int id : built->nodes[n].outputs) {
        if (id != kNoValue) producer[static_cast<std::size_t>(id)] = static_cast<int>(n);
      }
    }
  }
  for (std::size_t i = 0; i < imported.nodes.size(); ++i) {
    const Node& node = imported.nodes[i];
    const std::string outcome =
        built ? fate_of(imported, node, *built, built_nodes, producer) : output_shapes(imported, node);
    table.add_row({std::to_string(i), node.op_type, node.name, outcome});
  }
  return table;
}

TextTable pass_table(const inference::BuildReport& report, std::size_t nodes_before) {
  TextTable table({"pass", "changed", "nodes"});
  std::size_t before = nodes_before;
  for (const auto& pass : report.passes) {
    table.add_row(
        {pass.name, pass.modified ? "yes" : "no", std::to_string(before) + " -> " + std::to_string(pass.nodes_after)});
    before = pass.nodes_after;
  }
  return table;
}

std::map<std::string, int> impl_counts(const Graph& graph) {
  std::map<std::string, int> counts;
  for (const Node& node : graph.nodes) ++counts[node.impl.empty() ? "(unassigned)" : node.impl];
  return counts;
}

TextTable impl_table(const Graph& graph) {
  TextTable table({"impl", "nodes"});
  for (const auto& [impl, count] : impl_counts(graph)) table.add_row({impl, std::to_string(count)});
  return table;
}

std::pair<std::size_t, std::uint64_t> weight_totals(const Graph& graph) {
  std::size_t count = 0;
  std::uint64_t bytes = 0;
  for (const auto& v : graph.values) {
    if (!v.is_constant()) continue;
    ++count;
    bytes += v.constant->byte_size();
  }
  return {count, bytes};
}

}  // namespace detstream::app
