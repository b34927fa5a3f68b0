#include "nn/resnet.h"

#include <cmath>
#include <string>

#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>

#include "core/error.h"

namespace hilserl::nn {
namespace F = torch::nn::functional;

ConvNormImpl::ConvNormImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups) {
  convolution_ = register_module(
      "convolution",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false)));
  torch::nn::init::kaiming_normal_(convolution_->weight, 0.0, torch::kFanOut, torch::kReLU);
  normalization_ = register_module("normalization", torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, out)));
}

torch::Tensor ConvNormImpl::forward(const torch::Tensor& x) { return normalization_->forward(convolution_->forward(x)); }

namespace {
// A parameter-free container so tensor names nest like "encoder.stages.0.layers.0...".
std::shared_ptr<torch::nn::Module> Holder(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}
}  // namespace

ResNet10Impl::ResNet10Impl(int64_t groups) {
  auto embedder = Holder(*this, "embedder");
  stem_ = embedder->register_module("embedder", ConvNorm(3, 64, 7, 2, groups));
  auto stages = Holder(*Holder(*this, "encoder"), "stages");
  int64_t in = 64;
  for (int s = 0; s < 4; ++s) {
    const int64_t out = 64 << s;
    const int64_t stride = s == 0 ? 1 : 2;
    auto layer0 = Holder(*Holder(*stages, std::to_string(s)), "layers");
    auto block_holder = Holder(*layer0, "0");
    auto convs = Holder(*block_holder, "layer");
    Block b;
    b.conv0 = convs->register_module("0", ConvNorm(in, out, 3, stride, groups));
    b.conv1 = convs->register_module("1", ConvNorm(out, out, 3, 1, groups));
    if (in != out || stride != 1) b.shortcut = block_holder->register_module("shortcut", ConvNorm(in, out, 1, stride, groups));
    blocks_.push_back(b);
    in = out;
  }
}

torch::Tensor ResNet10Impl::Preprocess(const torch::Tensor& images_u8) {
  HILSERL_CHECK(images_u8.dim() == 4 && images_u8.size(3) == 3, "ResNet10 expects [B, H, W, 3] uint8 images");
  const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(images_u8.device());
  const torch::Tensor mean = torch::tensor({0.485f, 0.456f, 0.406f}, opts).view({1, 3, 1, 1});
  const torch::Tensor std = torch::tensor({0.229f, 0.224f, 0.225f}, opts).view({1, 3, 1, 1});
  return (images_u8.permute({0, 3, 1, 2}).to(torch::kFloat) / 255.0 - mean) / std;
}

torch::Tensor ResNet10Impl::forward(const torch::Tensor& images) {
  torch::Tensor x = images.scalar_type() == torch::kUInt8 ? Preprocess(images) : images;
  x = torch::relu(stem_->forward(x));
  x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
  for (auto& b : blocks_) {
    torch::Tensor y = torch::relu(b.conv0->forward(x));
    y = b.conv1->forward(y);
    const torch::Tensor residual = b.shortcut ? b.shortcut->forward(x) : x;
    x = torch::relu(residual + y);
  }
  return x;
}

SpatialEmbeddingsImpl::SpatialEmbeddingsImpl(int64_t channels, int64_t height, int64_t width, int64_t features) {
  // LeCun-normal over the fan-in of one feature (H * W * C inputs).
  const double scale = 1.0 / std::sqrt(static_cast<double>(height * width * channels));
  kernel_ = register_parameter("kernel", torch::randn({channels, height * width, features}) * scale);
}

torch::Tensor SpatialEmbeddingsImpl::forward(const torch::Tensor& x) {
  // x [B, C, H, W] -> [B, C, HW] ; per channel c: [B, HW] x [HW, F] -> [B, C, F].
  const torch::Tensor flat = x.flatten(2).transpose(0, 1);         // [C, B, HW]
  const torch::Tensor out = torch::bmm(flat, kernel_);             // [C, B, F]
  return out.transpose(0, 1).flatten(1);                           // [B, C * F]
}

ImageHeadImpl::ImageHeadImpl(int64_t channels, int64_t height, int64_t width, int64_t bottleneck,
                             int64_t spatial_features, double dropout) {
  spatial_ = register_module("spatial", SpatialEmbeddings(channels, height, width, spatial_features));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
  bottleneck_ = register_module("bottleneck", torch::nn::Linear(channels * spatial_features, bottleneck));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({bottleneck})));
}

torch::Tensor ImageHeadImpl::forward(const torch::Tensor& feature_map) {
  return torch::tanh(norm_->forward(bottleneck_->forward(dropout_->forward(spatial_->forward(feature_map)))));
}

}  // namespace hilserl::nn
