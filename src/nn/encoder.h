// The trainable observation encoder of an image-based agent (the official HIL-SERL implementation):
// a frozen backbone (ResNet-10, outside this module) turns each camera image into a
// C x H x W feature map once, on the actor; this module maps
//   [normalised proprio | camera 1 features | camera 2 features | ...]   (one flat row)
// to [proprio latent | camera 1 embedding | ...] with, per camera, an ImageHead
// (spatial learned embeddings -> dropout -> bottleneck -> LayerNorm -> tanh) and, for the
// proprio, Dense -> LayerNorm -> tanh. The critic trains it; actor and grasp critic read
// its output with gradients stopped.
//
// End-to-end variant (head "conv", DrQ): the "features" of a camera are its pixels,
// downsampled to S x S and scaled to [0, 1] (3 x S x S floats, see PixelStem in
// nn/backbone.h), and each camera's head is a small convolutional network trained by the
// critic's loss: random shift (replicate-pad by `shift_pad`, random S x S crop; training
// mode only) -> conv 3x3 stride 2 -> conv 3x3 stride 2 -> 2 x conv 3x3 -> ReLUs ->
// Dense -> LayerNorm -> tanh.
#pragma once

#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
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
  std::string head = "spatial";  // "spatial" (frozen-backbone features) or "conv" (pixels, DrQ)
  int64_t conv_channels = 32;    // conv head: filters per layer
  int64_t shift_pad = 4;         // conv head: random-shift padding in pixels (0 = no augmentation)

  bool enabled() const { return !cameras.empty(); }
  int64_t camera_feature_size() const { return channels * height * width; }
  int64_t input_dim() const { return proprio_dim + static_cast<int64_t>(cameras.size()) * camera_feature_size(); }
  int64_t output_dim() const;
};

// Random shift augmentation (DrQ): each image of x [B, C, H, W] is replicate-padded by
// `pad` pixels and cropped back to H x W at a uniformly random offset.
torch::Tensor RandomShift(const torch::Tensor& x, int64_t pad);

// The DrQ-style convolutional head of one camera: [B, 3, S, S] in [0, 1] -> [B, out].
class ConvHeadImpl : public torch::nn::Module {
 public:
  ConvHeadImpl(int64_t size, int64_t channels, int64_t out, int64_t shift_pad);
  torch::Tensor forward(const torch::Tensor& images);
  // Multiply-accumulates of one forward pass per image (for FLOP/s figures).
  int64_t macs_per_image() const { return macs_; }

 private:
  int64_t shift_pad_;
  int64_t macs_ = 0;
  torch::nn::Sequential convs_{nullptr};
  torch::nn::Linear dense_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(ConvHead);

class ObsEncoderImpl : public torch::nn::Module {
 public:
  explicit ObsEncoderImpl(const EncoderSpec& spec);
  // x: [B, input_dim] -> [B, output_dim]. With `proprio` given ([B, proprio_dim], e.g.
  // normalised), it replaces the proprio slice of x (saves copying the camera part).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& proprio = {});
  const EncoderSpec& spec() const { return spec_; }

 private:
  EncoderSpec spec_;
  MLP proprio_{nullptr};
  torch::nn::ModuleList heads_;
};
TORCH_MODULE(ObsEncoder);

}  // namespace hilserl::nn
