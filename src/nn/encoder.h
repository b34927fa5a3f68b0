// The trainable observation encoder of an image-based agent (REFERENCE.md section 2):
// a frozen backbone (ResNet-10, outside this module) turns each camera image into a
// C x H x W feature map once, on the actor; this module maps
//   [normalised proprio | camera 1 features | camera 2 features | ...]   (one flat row)
// to [proprio latent | camera 1 embedding | ...] with, per camera, an ImageHead
// (spatial learned embeddings -> dropout -> bottleneck -> LayerNorm -> tanh) and, for the
// proprio, Dense -> LayerNorm -> tanh. The critic trains it; actor and grasp critic read
// its output with gradients stopped.
#pragma once

#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/types.h>

#include "nn/networks.h"
#include "nn/resnet.h"

namespace hilserl::nn {

struct EncoderSpec {
  int64_t proprio_dim = 0;
  std::vector<std::string> cameras;  // empty: no encoder, the agent sees the proprio directly
  int64_t channels = 512, height = 4, width = 4;  // feature map per camera
  int64_t proprio_latent = 64;
  int64_t bottleneck = 256;
  int64_t spatial_features = 8;
  double dropout = 0.1;

  bool enabled() const { return !cameras.empty(); }
  int64_t camera_feature_size() const { return channels * height * width; }
  int64_t input_dim() const { return proprio_dim + static_cast<int64_t>(cameras.size()) * camera_feature_size(); }
  int64_t output_dim() const;
};

class ObsEncoderImpl : public torch::nn::Module {
 public:
  explicit ObsEncoderImpl(const EncoderSpec& spec);
  // x: [B, input_dim] -> [B, output_dim].
  torch::Tensor forward(const torch::Tensor& x);
  const EncoderSpec& spec() const { return spec_; }

 private:
  EncoderSpec spec_;
  MLP proprio_{nullptr};
  torch::nn::ModuleList heads_;
};
TORCH_MODULE(ObsEncoder);

}  // namespace hilserl::nn
