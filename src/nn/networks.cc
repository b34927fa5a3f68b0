#include "nn/networks.h"

#include <dlfcn.h>
#include <malloc.h>

#include <cmath>

#include <ATen/Parallel.h>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/normalization.h>
#include <torch/nn/init.h>

#include "core/error.h"

namespace hilserl::nn {
namespace F = torch::nn::functional;

MLPImpl::MLPImpl(int64_t in, std::vector<int64_t> hidden, int64_t out)
    : out_features_(out > 0 ? out : (hidden.empty() ? in : hidden.back())) {
  int64_t prev = in;
  linears_ = register_module("linears", torch::nn::ModuleList());
  norms_ = register_module("norms", torch::nn::ModuleList());
  for (int64_t h : hidden) {
    auto lin = torch::nn::Linear(prev, h);
    torch::nn::init::xavier_uniform_(lin->weight);
    torch::nn::init::zeros_(lin->bias);
    linears_->push_back(lin);
    norms_->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({h})));
    prev = h;
  }
  if (out > 0) {
    head_ = register_module("head", torch::nn::Linear(prev, out));
    torch::nn::init::xavier_uniform_(head_->weight);
    torch::nn::init::zeros_(head_->bias);
  }
}

torch::Tensor MLPImpl::forward(torch::Tensor x) {
  for (size_t i = 0; i < linears_->size(); ++i) {
    x = linears_[i]->as<torch::nn::Linear>()->forward(x);
    x = norms_[i]->as<torch::nn::LayerNorm>()->forward(x);
    x = torch::tanh(x);
  }
  if (head_) x = head_->forward(x);
  return x;
}

EnsembleMLPImpl::EnsembleMLPImpl(int64_t members, int64_t in, std::vector<int64_t> hidden, int64_t out)
    : members_(members) {
  HILSERL_CHECK(members >= 1, "ensemble needs at least one member");
  std::vector<int64_t> sizes = hidden;
  sizes.push_back(out);
  int64_t prev = in;
  for (size_t l = 0; l < sizes.size(); ++l) {
    const int64_t o = sizes[l];
    // Xavier-uniform per member, as for a plain Linear.
    const double bound = std::sqrt(6.0 / static_cast<double>(prev + o));
    weights_.push_back(register_parameter("w" + std::to_string(l),
                                          torch::empty({members, prev, o}).uniform_(-bound, bound)));
    biases_.push_back(register_parameter("b" + std::to_string(l), torch::zeros({members, 1, o})));
    if (l + 1 < sizes.size()) {
      gammas_.push_back(register_parameter("ln_g" + std::to_string(l), torch::ones({members, 1, o})));
      betas_.push_back(register_parameter("ln_b" + std::to_string(l), torch::zeros({members, 1, o})));
    }
    prev = o;
  }
}

torch::Tensor EnsembleMLPImpl::forward(torch::Tensor x) {
  if (x.dim() == 2) x = x.unsqueeze(0).expand({members_, x.size(0), x.size(1)});
  HILSERL_CHECK(x.dim() == 3 && x.size(0) == members_, "EnsembleMLP input must be [B, in] or [N, B, in]");
  for (size_t l = 0; l < weights_.size(); ++l) {
    x = torch::baddbmm(biases_[l], x, weights_[l]);
    if (l + 1 < weights_.size()) {
      x = torch::layer_norm(x, {x.size(2)});
      x = torch::tanh(x * gammas_[l] + betas_[l]);
    }
  }
  return x;
}

TanhGaussianPolicyImpl::TanhGaussianPolicyImpl(int64_t in, std::vector<int64_t> hidden,
                                               int64_t action_dim, double std_min, double std_max)
    : log_std_min_(std::log(std_min)), log_std_max_(std::log(std_max)) {
  trunk_ = register_module("trunk", MLP(in, hidden));
  const int64_t h = trunk_->out_features();
  mean_ = register_module("mean", torch::nn::Linear(h, action_dim));
  log_std_ = register_module("log_std", torch::nn::Linear(h, action_dim));
  for (auto* lin : {&mean_, &log_std_}) {
    torch::nn::init::xavier_uniform_((*lin)->weight);
    torch::nn::init::zeros_((*lin)->bias);
  }
}

torch::Tensor LogOneMinusTanhSquared(const torch::Tensor& u) {
  return 2.0 * (std::log(2.0) - u - F::softplus(-2.0 * u));
}

PolicyOutput TanhGaussianPolicyImpl::forward(torch::Tensor features, bool deterministic) {
  const torch::Tensor h = trunk_->forward(features);
  const torch::Tensor mean = mean_->forward(h);
  const torch::Tensor log_std = torch::clamp(log_std_->forward(h), log_std_min_, log_std_max_);
  const torch::Tensor std = torch::exp(log_std);
  PolicyOutput out;
  out.mean = torch::tanh(mean);
  out.std = std;
  out.loc = mean;
  torch::Tensor u;
  torch::Tensor eps;
  if (deterministic) {
    u = mean;
    eps = torch::zeros_like(mean);
  } else {
    eps = torch::randn_like(mean);
    u = mean + std * eps;
  }
  out.action = torch::tanh(u);
  // log N(u; mean, std) - sum log(1 - tanh(u)^2)
  const torch::Tensor log_normal = -0.5 * eps.pow(2) - log_std - 0.5 * std::log(2.0 * M_PI);
  out.log_prob = (log_normal - LogOneMinusTanhSquared(u)).sum(-1);
  return out;
}

void ConfigureCpuThreads(int torch_threads) {
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(1);
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  at::set_num_threads(std::max(1, torch_threads));
}

void PolyakUpdate(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  torch::NoGradGuard no_grad;
  auto tp = target.parameters();
  auto sp = source.parameters();
  HILSERL_CHECK(tp.size() == sp.size(), "Polyak update between different architectures");
  for (size_t i = 0; i < tp.size(); ++i) tp[i].mul_(1.0 - tau).add_(sp[i], tau);
}

void HardUpdate(torch::nn::Module& target, const torch::nn::Module& source) {
  torch::NoGradGuard no_grad;
  auto tp = target.parameters();
  auto sp = source.parameters();
  HILSERL_CHECK(tp.size() == sp.size(), "copy between different architectures");
  for (size_t i = 0; i < tp.size(); ++i) tp[i].copy_(sp[i]);
  auto tb = target.buffers();
  auto sb = source.buffers();
  for (size_t i = 0; i < tb.size() && i < sb.size(); ++i) tb[i].copy_(sb[i]);
}

}  // namespace hilserl::nn
