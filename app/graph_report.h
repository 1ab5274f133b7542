// Readable reports of a graph or plan for the CLI (`inspect`, `build`): inputs/outputs, the
// model's metadata, layer lists and per-impl node counts, as aligned TextTables. Pure functions
// of their arguments; thread-safe.
#pragma once

#include <map>
#include <string>

#include "app/text_table.h"
#include "inference/builder/builder.h"
#include "inference/graph/graph.h"

namespace detstream::app {

// name, dtype, shape ("?" for unknown dimensions) of the graph's inputs or outputs.
TextTable io_table(const inference::Graph& graph, const std::vector<int>& ids);
// task, stride, imgsz, class names (count and the first few), then any other keys.
TextTable metadata_table(const std::map<std::string, std::string>& metadata);
// The number of classes in a YOLO `names` entry ("{0: 'person', 1: 'bicycle'}"), 0 if unreadable.
int class_name_count(const std::string& names);
// A built graph's layers: index, op, impl, fused activation, name, output shapes.
TextTable layer_table(const inference::Graph& graph);
// An imported graph's layers, each output annotated from `built` (the same model after the
// passes, matched by value name): its shape, "folded" or "fused/removed".
TextTable imported_layer_table(const inference::Graph& imported, const inference::Graph* built);
TextTable pass_table(const inference::BuildReport& report, std::size_t nodes_before);
// impl -> node count.
std::map<std::string, int> impl_counts(const inference::Graph& graph);
TextTable impl_table(const inference::Graph& graph);
// Constant tensors: count and bytes.
std::pair<std::size_t, std::uint64_t> weight_totals(const inference::Graph& graph);

}  // namespace detstream::app
