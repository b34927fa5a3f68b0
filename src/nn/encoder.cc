#include "nn/encoder.h"

#include "core/error.h"

namespace hilserl::nn {

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
  for (size_t i = 0; i < spec_.cameras.size(); ++i) {
    heads_->push_back(ImageHead(spec_.channels, spec_.height, spec_.width, spec_.bottleneck, spec_.spatial_features,
                                spec_.dropout));
  }
}

torch::Tensor ObsEncoderImpl::forward(const torch::Tensor& x) {
  HILSERL_CHECK(x.dim() == 2 && x.size(1) == spec_.input_dim(), "ObsEncoder input has the wrong width");
  std::vector<torch::Tensor> parts;
  if (proprio_) parts.push_back(proprio_->forward(x.slice(1, 0, spec_.proprio_dim)));
  const int64_t n = spec_.camera_feature_size();
  for (size_t i = 0; i < heads_->size(); ++i) {
    const int64_t begin = spec_.proprio_dim + static_cast<int64_t>(i) * n;
    const torch::Tensor map = x.slice(1, begin, begin + n).view({x.size(0), spec_.channels, spec_.height, spec_.width});
    parts.push_back(heads_[i]->as<ImageHead>()->forward(map));
  }
  return torch::cat(parts, 1);
}

}  // namespace hilserl::nn
