#include "inference/passes/constant_folding.h"
#include "inference/passes/conv_activation_fusion.h"
#include "inference/passes/dead_node_elimination.h"

namespace detstream::inference {

std::vector<std::unique_ptr<Pass>> default_passes() {
  std::vector<std::unique_ptr<Pass>> passes;
  passes.push_back(std::make_unique<ConstantFolding>());
  passes.push_back(std::make_unique<ConvActivationFusion>());
  passes.push_back(std::make_unique<DeadNodeElimination>());
  return passes;
}

}  // namespace detstream::inference
