// Image encoders: the frozen ResNet-10 backbone of HIL-SERL and the trainable head on top.
//
// ResNet10 (the official HIL-SERL implementation): 7x7/2 conv (64) -> GroupNorm -> ReLU -> 3x3/2 max pool
// -> four stages of one basic block each (64, 128, 256, 512 channels; stride 2 from the
// second stage; 1x1 projection shortcut where the shape changes), GroupNorm with 4 groups
// throughout. Input: uint8 RGB images [B, H, W, 3] (converted and normalised with the
// ImageNet mean/std inside); output [B, 512, H/32, W/32] (4 x 4 for 128 x 128).
//
// Tensor names (what a safetensors file must contain; the layout of the Hugging Face
// transformers ResNet, which the PyTorch ResNet-10 ports of HIL-SERL's encoder use):
//   embedder.embedder.convolution.weight            [64, 3, 7, 7]
//   embedder.embedder.normalization.{weight,bias}   [64]
//   encoder.stages.{s}.layers.0.layer.{0,1}.convolution.weight        [C, C_in, 3, 3]
//   encoder.stages.{s}.layers.0.layer.{0,1}.normalization.{weight,bias} [C]
//   encoder.stages.{s}.layers.0.shortcut.convolution.weight           [C, C_in, 1, 1] (s >= 1)
//   encoder.stages.{s}.layers.0.shortcut.normalization.{weight,bias}  [C]             (s >= 1)
// with s = 0..3 and C = 64, 128, 256, 512. LoadStateDict names any missing tensor or
// wrong shape.
#pragma once

#include <memory>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/types.h>

namespace hilserl::nn {

// A convolution (no bias) followed by GroupNorm: the unit every ResNet-10 layer uses.
class ConvNormImpl : public torch::nn::Module {
 public:
  ConvNormImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d convolution_{nullptr};
  torch::nn::GroupNorm normalization_{nullptr};
};
TORCH_MODULE(ConvNorm);

class ResNet10Impl : public torch::nn::Module {
 public:
  explicit ResNet10Impl(int64_t norm_groups = 4);
  // images: uint8 [B, H, W, 3] or float [B, 3, H, W] already normalised.
  torch::Tensor forward(const torch::Tensor& images);
  // uint8 [B, H, W, 3] -> float [B, 3, H, W] normalised with the ImageNet mean and std.
  static torch::Tensor Preprocess(const torch::Tensor& images_u8);

 private:
  ConvNorm stem_{nullptr};
  struct Block {
    ConvNorm conv0{nullptr}, conv1{nullptr}, shortcut{nullptr};
  };
  std::vector<Block> blocks_;
};
TORCH_MODULE(ResNet10);

// Spatial learned embeddings: F learned kernels of size H x W per channel; each feature is
// sum_{h,w} x[c, h, w] * k[h, w, c, f]. [B, C, H, W] -> [B, C * F].
class SpatialEmbeddingsImpl : public torch::nn::Module {
 public:
  SpatialEmbeddingsImpl(int64_t channels, int64_t height, int64_t width, int64_t features = 8);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor kernel_;  // [C, H * W, F]
};
TORCH_MODULE(SpatialEmbeddings);

// The trainable per-camera head on a frozen backbone's feature map:
// SpatialEmbeddings -> Dropout(0.1) -> Linear(bottleneck) -> LayerNorm -> tanh.
class ImageHeadImpl : public torch::nn::Module {
 public:
  ImageHeadImpl(int64_t channels, int64_t height, int64_t width, int64_t bottleneck = 256,
                int64_t spatial_features = 8, double dropout = 0.1);
  torch::Tensor forward(const torch::Tensor& feature_map);

 private:
  SpatialEmbeddings spatial_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear bottleneck_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(ImageHead);

}  // namespace hilserl::nn
