#include "inference/passes/dead_node_elimination.h"

#include <vector>

namespace detstream::inference {

namespace {

// Drops values no node or graph boundary refers to and renumbers the ids.
void compact_values(Graph& graph) {
  std::vector<char> used(graph.values.size(), 0);
  for (int id : graph.inputs) used[static_cast<std::size_t>(id)] = 1;
  for (int id : graph.outputs) used[static_cast<std::size_t>(id)] = 1;
  for (const Node& node : graph.nodes) {
    for (int id : node.inputs) if (id != kNoValue) used[static_cast<std::size_t>(id)] = 1;
    for (int id : node.outputs) if (id != kNoValue) used[static_cast<std::size_t>(id)] = 1;
  }
  std::vector<int> remap(graph.values.size(), kNoValue);
  std::vector<Value> kept;
  for (std::size_t i = 0; i < graph.values.size(); ++i) {
    if (!used[i]) continue;
    remap[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(graph.values[i]));
  }
  auto fix = [&](std::vector<int>& ids) {
    for (int& id : ids) if (id != kNoValue) id = remap[static_cast<std::size_t>(id)];
  };
  fix(graph.inputs);
  fix(graph.outputs);
  for (Node& node : graph.nodes) {
    fix(node.inputs);
    fix(node.outputs);
  }
  graph.values = std::move(kept);
}

}  // namespace

bool DeadNodeElimination::apply(Graph& graph) const {
  std::vector<char> live(graph.values.size(), 0);
  for (int id : graph.outputs) live[static_cast<std::size_t>(id)] = 1;
  std::vector<char> keep(graph.nodes.size(), 0);
  for (std::size_t n = graph.nodes.size(); n-- > 0;) {
    const Node& node = graph.nodes[n];
    for (int id : node.outputs) {
      if (id != kNoValue && live[static_cast<std::size_t>(id)]) keep[n] = 1;
    }
    if (!keep[n]) continue;
    for (int id : node.inputs) if (id != kNoValue) live[static_cast<std::size_t>(id)] = 1;
  }
  std::vector<Node> kept;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    if (keep[n]) kept.push_back(std::move(graph.nodes[n]));
  }
  const bool modified = kept.size() != graph.nodes.size();
  graph.nodes = std::move(kept);
  const std::size_t before = graph.values.size();
  compact_values(graph);
  return modified || graph.values.size() != before;
}

}  // namespace detstream::inference
