// Neural network building blocks (LibTorch). Shapes: B = batch, N = ensemble members.
//
// - MLP: [Linear -> LayerNorm -> tanh] x hidden layers (+ optional output Linear).
// - EnsembleMLP: N independent MLPs evaluated in one batched pass (baddbmm), each member
//   with its own weights, LayerNorm parameters and output layer (as in the official implementation,
//   known defect (a): never share the output head).
// - TanhGaussianPolicy: MLP trunk -> mean, log std (std clipped to [1e-5, 5]); samples
//   tanh(mean + std * eps) with the change-of-variables log-probability.
// - DiscreteCritic: MLP -> one Q value per discrete action (the grasp critic).
// All parameters are created on the device given at construction.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/types.h>

#include <vector>

namespace hilserl::nn {

class MLPImpl : public torch::nn::Module {
 public:
  // hidden: sizes of the Linear -> LayerNorm -> tanh blocks; out = 0 means no output layer.
  MLPImpl(int64_t in, std::vector<int64_t> hidden, int64_t out = 0);
  torch::Tensor forward(torch::Tensor x);
  int64_t out_features() const { return out_features_; }

 private:
  torch::nn::ModuleList linears_;
  torch::nn::ModuleList norms_;
  torch::nn::Linear head_{nullptr};
  int64_t out_features_;
};
TORCH_MODULE(MLP);

class EnsembleMLPImpl : public torch::nn::Module {
 public:
  EnsembleMLPImpl(int64_t members, int64_t in, std::vector<int64_t> hidden, int64_t out);
  // x: [B, in] (shared by all members) or [N, B, in] -> [N, B, out].
  torch::Tensor forward(torch::Tensor x);
  int64_t members() const { return members_; }

 private:
  int64_t members_;
  std::vector<torch::Tensor> weights_;  // [N, in, out] per layer
  std::vector<torch::Tensor> biases_;   // [N, 1, out]
  std::vector<torch::Tensor> gammas_;   // [N, 1, hidden] LayerNorm scale
  std::vector<torch::Tensor> betas_;    // [N, 1, hidden]
};
TORCH_MODULE(EnsembleMLP);

struct PolicyOutput {
  torch::Tensor action;    // [B, A] in (-1, 1)
  torch::Tensor log_prob;  // [B]
  torch::Tensor mean;      // [B, A] tanh(mean): the deterministic action
  torch::Tensor std;       // [B, A] pre-tanh standard deviation
  torch::Tensor loc;       // [B, A] pre-tanh mean (mean = tanh(loc))
};

class TanhGaussianPolicyImpl : public torch::nn::Module {
 public:
  TanhGaussianPolicyImpl(int64_t in, std::vector<int64_t> hidden, int64_t action_dim,
                         double std_min = 1e-5, double std_max = 5.0);
  // Samples with reparameterisation (gradients flow through `action`).
  // Noise comes from LibTorch's default generator (seed it with torch::manual_seed).
  PolicyOutput forward(torch::Tensor features, bool deterministic = false);

 private:
  MLP trunk_{nullptr};
  torch::nn::Linear mean_{nullptr};
  torch::nn::Linear log_std_{nullptr};
  double log_std_min_, log_std_max_;
};
TORCH_MODULE(TanhGaussianPolicy);

// log(1 - tanh(u)^2), numerically stable: 2 (log 2 - u - softplus(-2u)).
torch::Tensor LogOneMinusTanhSquared(const torch::Tensor& u);

// Sets LibTorch's intra-op threads and pins OpenBLAS (if it is the BLAS in use) to one
// thread: two thread pools on two cores oversubscribe and run ~3x slower
// (two thread pools on two cores oversubscribe). Also keeps glibc from returning freed tensor memory
// to the kernel (mmap/trim thresholds): every small-batch op allocates 0.1-1 MB outputs,
// and page-faulting them in again made elementwise ops several times slower (measured:
// 2 sigmoid(2x) - 1 on 2x256x256 went from 0.90 ms to 0.23 ms). Call before the first
// network runs.
void ConfigureCpuThreads(int torch_threads);

// Copies parameters and buffers: target = tau * source + (1 - tau) * target.
void PolyakUpdate(torch::nn::Module& target, const torch::nn::Module& source, double tau);
// Copies every parameter and buffer of `source` into `target` (same architecture).
void HardUpdate(torch::nn::Module& target, const torch::nn::Module& source);

}  // namespace hilserl::nn
