#include "nn/encoder.h"

#include <torch/torch.h>

#include "core/error.h"

namespace hilserl::nn {

torch::Tensor RandomShift(const torch::Tensor& x, int64_t pad) {
  HILSERL_CHECK(x.dim() == 4, "RandomShift expects [B, C, H, W]");
  if (pad <= 0) return x;
  namespace F = torch::nn::functional;
  using torch::indexing::Slice;
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  const torch::Tensor padded = F::pad(x, F::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReplicate));
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  const torch::Tensor dy = torch::randint(0, 2 * pad + 1, {b, 1}, long_opts);
  const torch::Tensor dx = torch::randint(0, 2 * pad + 1, {b, 1}, long_opts);
  const torch::Tensor rows = (dy + torch::arange(h, long_opts).unsqueeze(0)).view({b, h, 1});
  const torch::Tensor cols = (dx + torch::arange(w, long_opts).unsqueeze(0)).view({b, 1, w});
  const torch::Tensor batch = torch::arange(b, long_opts).view({b, 1, 1});
  // Advanced indices around a slice: the result is [B, H, W, C].
  return padded.index({batch, Slice(), rows, cols}).permute({0, 3, 1, 2}).contiguous();
}

ConvHeadImpl::ConvHeadImpl(int64_t size, int64_t channels, int64_t out, int64_t shift_pad) : shift_pad_(shift_pad) {
  HILSERL_CHECK(size >= 16, "conv head: images must be at least 16 x 16");
  HILSERL_CHECK(channels >= 1 && out >= 1, "conv head: channels and output size must be >= 1");
  convs_ = torch::nn::Sequential();
  int64_t s = size, in = 3;
  for (int64_t stride : {2, 2, 1, 1}) {
    convs_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, channels, 3).stride(stride)));
    convs_->push_back(torch::nn::ReLU());
    s = (s - 3) / stride + 1;
    macs_ += s * s * channels * in * 9;
    in = channels;
  }
  HILSERL_CHECK(s >= 1, "conv head: images too small for four 3x3 convolutions");
  register_module("convs", convs_);
  dense_ = register_module("dense", torch::nn::Linear(channels * s * s, out));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({out})));
  macs_ += channels * s * s * out;
}

torch::Tensor ConvHeadImpl::forward(const torch::Tensor& images) {
  torch::Tensor x = is_training() ? RandomShift(images, shift_pad_) : images;
  x = convs_->forward(x).flatten(1);
  return torch::tanh(norm_->forward(dense_->forward(x)));
}

int64_t EncoderSpec::output_dim() const {
  if (!enabled()) return proprio_dim;
  return (proprio_dim > 0 ? proprio_latent : 0) + static_cast<int64_t>(cameras.size()) * bottleneck;
}

ObsEncoderImpl::ObsEncoderImpl(const EncoderSpec& spec) : spec_(spec) {
  HILSERL_CHECK(spec_.enabled(), "ObsEncoder needs at least one camera");
  if (spec_.proprio_dim > 0) {
    proprio_ = register_module("proprio", MLP(spec_.proprio_dim, std::vector<int64_t>{spec_.proprio_latent}));
  }
  heads_ = register_module("cameras", torch::nn::ModuleList());
  HILSERL_CHECK(spec_.head == "spatial" || spec_.head == "conv", "encoder head must be 'spatial' or 'conv'");
  for (size_t i = 0; i < spec_.cameras.size(); ++i) {
    if (spec_.head == "conv") {
      HILSERL_CHECK(spec_.channels == 3 && spec_.height == spec_.width, "conv head reads square RGB images");
      heads_->push_back(ConvHead(spec_.height, spec_.conv_channels, spec_.bottleneck, spec_.shift_pad));
      continue;
    }
    heads_->push_back(ImageHead(spec_.channels, spec_.height, spec_.width, spec_.bottleneck, spec_.spatial_features,
                                spec_.dropout));
  }
}

torch::Tensor ObsEncoderImpl::forward(const torch::Tensor& x, const torch::Tensor& proprio) {
  HILSERL_CHECK(x.dim() == 2 && x.size(1) == spec_.input_dim(), "ObsEncoder input has the wrong width");
  std::vector<torch::Tensor> parts;
  if (proprio_) parts.push_back(proprio_->forward(proprio.defined() ? proprio : x.slice(1, 0, spec_.proprio_dim)));
  const int64_t n = spec_.camera_feature_size();
  for (size_t i = 0; i < heads_->size(); ++i) {
    const int64_t begin = spec_.proprio_dim + static_cast<int64_t>(i) * n;
    const torch::Tensor map = x.slice(1, begin, begin + n).view({x.size(0), spec_.channels, spec_.height, spec_.width});
    if (auto* conv = heads_[i]->as<ConvHead>()) {
      parts.push_back(conv->forward(map));
    } else {
      parts.push_back(heads_[i]->as<ImageHead>()->forward(map));
    }
  }
  return torch::cat(parts, 1);
}

}  // namespace hilserl::nn
