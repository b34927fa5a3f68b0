// SAC with the RLPD recipe and a DQN grasp critic (the paper and its official implementation).
//
// Continuous part: TanhGaussianPolicy; critic = EnsembleMLP of N members over
// [features, continuous action]; TD target r + gamma (1 - terminated) (min over a random
// subset of M target members of Q(s', a') - alpha log pi(a'|s')), a' ~ pi(s'); actor
// maximises mean-over-members Q(s, pi(s)) - alpha log pi; alpha = exp(log_alpha) tuned
// toward target_entropy; Polyak-averaged target critics.
// Gripper part (grippers >= 1): the last `grippers` components of the env action are
// chosen by a discrete critic over 3^grippers joint actions {close, stay, open} with a
// target network and a double-DQN target, trained on reward + grasp_penalty.
//
// Threading: not thread-safe; the learner thread owns the agent. Actors act with their
// own copy of the policy (see PolicyWeights in runtime/).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/optim/adam.h>
#include <torch/types.h>

#include "core/config.h"
#include "nn/encoder.h"
#include "nn/networks.h"
#include "nn/safetensors.h"

namespace hilserl {

struct SacOptions {
  std::vector<int64_t> hidden = {256, 256};
  int critic_ensemble = 2;   // N
  int critic_subsample = 2;  // M: target = min over M random members
  double discount = 0.97;
  double tau = 0.005;
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;
  double temperature_lr = 3e-4;
  double init_temperature = 0.01;
  double target_entropy = 0.0;  // 0 = -continuous_action_dim / 2
  bool backup_entropy = true;
  int grippers = 0;             // discrete gripper components at the end of the action
  double grasp_lr = 3e-4;
  // Exploration of the grasp critic when acting stochastically: with this probability a
  // uniformly random gripper action replaces the argmax (DQN epsilon-greedy).
  double grasp_epsilon = 0.1;

  void Validate() const;
  void Load(ConfigNode& node);
};

// One training batch on the agent's device. B rows.
struct TrainBatch {
  torch::Tensor obs;            // [B, obs_dim] float
  torch::Tensor actions;        // [B, env_action_dim] in [-1, 1]
  torch::Tensor rewards;        // [B]
  torch::Tensor terminated;     // [B] 1 = no bootstrap
  torch::Tensor next_obs;       // [B, obs_dim]
  torch::Tensor grasp_penalty;  // [B]
  int64_t demo_rows = 0;        // rows [0, demo_rows) come from the demo buffer (for metrics)
};

struct UpdateInfo {
  double critic_loss = 0, q_mean = 0, actor_loss = 0, temperature = 0, entropy = 0, grasp_loss = 0;
  // Mean Q(s, a) over the demo rows and over the online rows of the batch (NaN if none):
  // online Q far above what the online success rate supports means overestimation.
  double q_demo = 0, q_online = 0;
  // Some loss or gradient was not finite: that network's step (and its target's move) was
  // skipped, so no weight and no optimizer state ever takes a non-finite value.
  bool skipped = false;
};

class SacAgent {
 public:
  SacAgent(int64_t obs_dim, int64_t env_action_dim, const SacOptions& options,
           torch::Device device = torch::kCPU, const nn::EncoderSpec& encoder = {});

  // Env actions [B, env_action_dim] for features [B, obs_dim]: policy sample (or mean when
  // deterministic) for the continuous part, grasp-critic argmax for the grippers.
  torch::Tensor Act(const torch::Tensor& obs, bool deterministic);

  // One critic (and grasp critic) update; with `update_actor` also the actor and the
  // temperature; then the target networks move by tau. A non-finite critic loss or
  // gradient skips the whole update; a non-finite grasp, actor or temperature loss skips
  // that part. Either way UpdateInfo::skipped is set and nothing non-finite is applied.
  UpdateInfo Update(const TrainBatch& batch, bool update_actor);

  // Behaviour cloning (the BC and HG-DAgger baselines): one step
  // that maximises the tanh-Gaussian policy's likelihood of the batch's actions (demos and
  // corrections) and fits the grasp critic's head as a classifier of the demonstrated
  // gripper commands (cross-entropy over the 3^grippers joint actions); the encoder head
  // (pixels) is trained through both. Critics are untouched. Returns the policy's negative
  // log-likelihood in actor_loss and the classifier loss in grasp_loss. Skipped as a whole
  // when the loss or a gradient is not finite.
  UpdateInfo BcUpdate(const TrainBatch& batch);

  // Individual losses, exposed for tests (no optimizer step).
  // q (optional): the critic's Q(s, a) for the batch, mean over members, [B], detached.
  torch::Tensor CriticLoss(const TrainBatch& batch, torch::Tensor* q = nullptr);
  torch::Tensor GraspLoss(const TrainBatch& batch);

  // Analysis (no gradients): Q(s, a) averaged over the ensemble for obs rows [B, obs_dim]
  // and continuous actions [B, continuous_dim] in [-1, 1] -> [B].
  torch::Tensor QValue(const torch::Tensor& obs, const torch::Tensor& continuous_actions);
  // The paper's Eq. 1 at one state obs [1, obs_dim]: the deterministic action a = tanh(mean),
  // `samples` copies of a + U(-noise, noise) clipped to [-1, 1]; returns the mean and the
  // variance of Q over them.
  std::pair<double, double> QUnderActionNoise(const torch::Tensor& obs, int samples = 100, double noise = 0.2);
  // The policy's distribution at obs rows (no sampling): mean = tanh(loc), std (pre-tanh).
  nn::PolicyOutput Distribution(const torch::Tensor& obs);

  // Discrete index (0 .. 3^grippers - 1) of the gripper part of env actions [B, A].
  torch::Tensor GripperIndex(const torch::Tensor& env_actions) const;
  // Gripper values in {-1, 0, 1} for discrete indices [B] -> [B, grippers].
  torch::Tensor GripperValues(const torch::Tensor& index) const;

  // Observation normalisation of the proprio part of every input (the whole obs without
  // an encoder): (obs - mean) / max(std, min_std), clipped to [-10, 10]. Identity until
  // set. The statistics are part of Weights() and ActorWeights(), so checkpoints and
  // actors normalise exactly as the learner did. Sizes must be the proprio dimension.
  void SetObsNormalization(const std::vector<double>& mean, const std::vector<double>& stddev,
                           double min_std = 1e-2);
  torch::Tensor Normalize(const torch::Tensor& obs) const;

  double temperature() const;
  int64_t obs_dim() const { return obs_dim_; }
  int64_t embedding_dim() const { return embed_dim_; }
  const nn::EncoderSpec& encoder_spec() const { return encoder_spec_; }
  int64_t env_action_dim() const { return env_action_dim_; }
  int64_t continuous_dim() const { return cont_dim_; }
  const SacOptions& options() const { return options_; }
  torch::Device device() const { return device_; }

  nn::TanhGaussianPolicy& policy() { return policy_; }
  nn::EnsembleMLP& critic() { return critic_; }
  nn::MLP& grasp_critic() { return grasp_; }

  // All network weights (policy., critic., critic_target., grasp., grasp_target.,
  // log_alpha, obs_norm.mean, obs_norm.scale) for safetensors checkpoints.
  nn::TensorMap Weights() const;
  void LoadWeights(const nn::TensorMap& weights, const std::string& source);
  // Only the acting part (policy., grasp., obs_norm.): what actors need.
  nn::TensorMap ActorWeights() const;
  // Optimizer states (LibTorch archives) for exact resumption.
  void SaveOptimizers(const std::string& path) const;
  void LoadOptimizers(const std::string& path);

 private:
  torch::Tensor NormalizedProprio(const torch::Tensor& obs) const;  // [B, norm_dim]
  torch::Tensor Critic(nn::EnsembleMLP& net, const torch::Tensor& obs, const torch::Tensor& act);
  // Normalised obs through the (target) encoder; identity map without one.
  torch::Tensor Embed(const torch::Tensor& obs);
  torch::Tensor EmbedTarget(const torch::Tensor& obs);
  // Losses on precomputed embeddings: z (with gradient into the encoder for the critic),
  // next state through the online (z_next) and target (z_next_target) encoders.
  torch::Tensor CriticLossOn(const torch::Tensor& z, const torch::Tensor& z_next, const torch::Tensor& z_next_target,
                             const TrainBatch& b, torch::Tensor* q_rows);
  torch::Tensor GraspLossOn(const torch::Tensor& z, const torch::Tensor& z_next, const torch::Tensor& z_next_target,
                            const TrainBatch& b);

  SacOptions options_;
  torch::Device device_;
  int64_t obs_dim_, env_action_dim_, cont_dim_, num_grasp_actions_;
  nn::EncoderSpec encoder_spec_;
  int64_t norm_dim_;   // leading obs components that are normalised (the proprio)
  int64_t embed_dim_;  // what policy and critics read
  nn::ObsEncoder encoder_{nullptr}, encoder_target_{nullptr};
  double target_entropy_;
  nn::TanhGaussianPolicy policy_{nullptr};
  nn::EnsembleMLP critic_{nullptr}, critic_target_{nullptr};
  nn::MLP grasp_{nullptr}, grasp_target_{nullptr};
  torch::Tensor log_alpha_;
  torch::Tensor obs_mean_, obs_scale_;  // [obs_dim]; scale = 1 / std
  std::unique_ptr<torch::optim::Adam> actor_opt_, critic_opt_, temp_opt_, grasp_opt_;
  std::unique_ptr<torch::optim::Adam> bc_opt_;  // created by the first BcUpdate
};

}  // namespace hilserl
