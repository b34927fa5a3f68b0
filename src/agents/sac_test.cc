#include "agents/sac.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"

namespace hilserl {
namespace {

// Zeroes every weight of a module and sets the output bias, so its output is a known
// constant: with zero weights the LayerNorm input is 0, tanh(0 * gamma + beta) = 0 and
// the output equals the last bias.
void ConstantOutput(torch::nn::Module& m, const std::string& bias_name, const torch::Tensor& bias) {
  torch::NoGradGuard g;
  for (auto& p : m.named_parameters()) {
    if (p.key().find("ln_g") != std::string::npos || p.key().find("norms") != std::string::npos) continue;
    p.value().zero_();
  }
  m.named_parameters()[bias_name].copy_(bias);
}

SacOptions Tiny(int grippers = 0) {
  SacOptions o;
  o.hidden = {8};
  o.critic_ensemble = 2;
  o.critic_subsample = 2;
  o.discount = 0.9;
  o.backup_entropy = false;
  o.grippers = grippers;
  return o;
}

TrainBatch Batch(int64_t obs_dim, int64_t action_dim, float gripper) {
  TrainBatch b;
  b.obs = torch::randn({2, obs_dim});
  b.next_obs = torch::randn({2, obs_dim});
  b.actions = torch::zeros({2, action_dim});
  if (gripper != 0) b.actions.select(1, action_dim - 1).fill_(gripper);
  b.rewards = torch::tensor({0.0f, 1.0f});
  b.terminated = torch::tensor({0.0f, 1.0f});
  b.grasp_penalty = torch::tensor({-0.02f, 0.0f});
  return b;
}

TEST(SacTest, CriticLossMatchesHandComputedValue) {
  torch::manual_seed(0);
  SacAgent agent(3, 2, Tiny());
  // Member biases 1 and 2 in both online and target critics: Q_i = b_i everywhere.
  ConstantOutput(*agent.critic(), "b1", torch::tensor({1.0f, 2.0f}).view({2, 1, 1}));
  nn::TensorMap w = agent.Weights();
  for (auto& [k, v] : nn::StateDict(*agent.critic())) w["critic_target." + k] = v.clone();
  agent.LoadWeights(w, "test");
  // y = r + 0.9 (1 - d) min(1, 2) = [0.9, 1.0];
  // loss = mean over members and rows of (b_i - y)^2 = (0.01 + 0 + 1.21 + 1) / 4.
  const torch::Tensor loss = agent.CriticLoss(Batch(3, 2, 0));
  EXPECT_NEAR(loss.item<double>(), 0.555, 1e-6);
}

TEST(SacTest, GraspLossUsesDoubleDqnTargetAndPenalty) {
  torch::manual_seed(1);
  SacAgent agent(3, 2, Tiny(1));
  // Q(s) = [0.5, 1.0, 2.0] for close, stay, open in both online and target grasp critics.
  ConstantOutput(*agent.grasp_critic(), "head.bias", torch::tensor({0.5f, 1.0f, 2.0f}));
  nn::TensorMap w = agent.Weights();
  for (auto& [k, v] : nn::StateDict(*agent.grasp_critic())) w["grasp_target." + k] = v.clone();
  agent.LoadWeights(w, "test");
  // Action "close" (-1) -> Q = 0.5. y = r + penalty + 0.9 (1 - d) Q_target(s', argmax) =
  // [0 - 0.02 + 1.8, 1] ; loss = ((0.5 - 1.78)^2 + (0.5 - 1)^2) / 2.
  const torch::Tensor loss = agent.GraspLoss(Batch(3, 2, -1.0f));
  EXPECT_NEAR(loss.item<double>(), (1.28 * 1.28 + 0.25) / 2, 1e-5);
}

TEST(SacTest, GripperIndexAndValuesRoundTrip) {
  SacAgent agent(2, 3, Tiny(2));  // 1 continuous + 2 grippers
  const torch::Tensor a = torch::tensor({{0.f, -1.f, 1.f}, {0.f, 0.f, -0.7f}, {0.f, 0.9f, 0.2f}});
  const torch::Tensor idx = agent.GripperIndex(a);
  EXPECT_EQ(idx[0].item<int64_t>(), 0 * 3 + 2);
  EXPECT_EQ(idx[1].item<int64_t>(), 1 * 3 + 0);
  EXPECT_EQ(idx[2].item<int64_t>(), 2 * 3 + 1);
  const torch::Tensor v = agent.GripperValues(idx);
  EXPECT_TRUE(torch::equal(v, torch::tensor({{-1.f, 1.f}, {0.f, -1.f}, {1.f, 0.f}})));
}

TEST(SacTest, GraspCriticLearnsASmallDiscreteTask) {
  // One-step task: in state [1, 0] closing pays 1, in state [0, 1] opening pays 1.
  torch::manual_seed(2);
  SacOptions o = Tiny(1);
  o.hidden = {32, 32};
  o.grasp_lr = 3e-3;
  SacAgent agent(2, 2, o);
  for (int it = 0; it < 300; ++it) {
    TrainBatch b;
    const torch::Tensor which = torch::randint(0, 2, {64});
    b.obs = torch::stack({1.0 - which.to(torch::kFloat), which.to(torch::kFloat)}, 1);
    b.next_obs = b.obs.clone();
    const torch::Tensor g = torch::randint(0, 3, {64}).to(torch::kFloat) - 1.0;  // -1, 0, 1
    b.actions = torch::stack({torch::zeros({64}), g}, 1);
    const torch::Tensor good = torch::where(which == 0, g == -1.0, g == 1.0);
    b.rewards = good.to(torch::kFloat);
    b.terminated = torch::ones({64});
    b.grasp_penalty = torch::zeros({64});
    agent.Update(b, it % 2 == 1);
  }
  const torch::Tensor act = agent.Act(torch::tensor({{1.f, 0.f}, {0.f, 1.f}}), true);
  EXPECT_EQ(act[0][1].item<float>(), -1.0f);  // close
  EXPECT_EQ(act[1][1].item<float>(), 1.0f);   // open
}

TEST(SacTest, GraspEpsilonExploresOnlyWhenStochastic) {
  torch::manual_seed(4);
  SacOptions o = Tiny(1);
  o.grasp_epsilon = 1.0;
  SacAgent agent(2, 2, o);
  const torch::Tensor s = torch::zeros({300, 2});
  const torch::Tensor g = agent.Act(s, false).select(1, 1);
  for (float v : {-1.f, 0.f, 1.f}) EXPECT_GT((g == v).sum().item<int64_t>(), 50) << v;
  const torch::Tensor d = agent.Act(s, true).select(1, 1);
  EXPECT_EQ((d == d[0]).sum().item<int64_t>(), 300);  // argmax only
}

TEST(SacTest, WeightsRoundTripAndOptionsValidate) {
  torch::manual_seed(3);
  SacAgent a(4, 3, Tiny(1)), b(4, 3, Tiny(1));
  b.LoadWeights(a.Weights(), "test");
  const torch::Tensor s = torch::randn({5, 4});
  EXPECT_TRUE(torch::equal(a.Act(s, true), b.Act(s, true)));
  SacOptions bad = Tiny();
  bad.critic_subsample = 3;
  EXPECT_THROW(bad.Validate(), InvalidArgument);
  EXPECT_THROW(SacAgent(4, 1, Tiny(1)), InvalidArgument);  // no continuous component left
}

bool SameWeights(const nn::TensorMap& a, const nn::TensorMap& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    if (!b.count(k) || !torch::equal(v, b.at(k))) return false;
  }
  return true;
}

bool AllFinite(const nn::TensorMap& m) {
  for (const auto& [k, v] : m) {
    if (!torch::isfinite(v).all().item<bool>()) return false;
  }
  return true;
}

TEST(SacTest, NonFiniteLossOrGradientIsNeverApplied) {
  torch::manual_seed(5);
  SacAgent agent(3, 3, Tiny(1));
  TrainBatch good = Batch(3, 3, 1.0f);
  EXPECT_FALSE(agent.Update(good, true).skipped);
  // An absurd but finite reward: the squared TD error overflows to inf.
  TrainBatch absurd = Batch(3, 3, 1.0f);
  absurd.rewards = torch::tensor({3e38f, 3e38f});
  const nn::TensorMap before = agent.Weights();
  const UpdateInfo info = agent.Update(absurd, true);
  EXPECT_TRUE(info.skipped);
  EXPECT_FALSE(std::isfinite(info.critic_loss));
  EXPECT_TRUE(SameWeights(before, agent.Weights()));  // targets too: nothing moved
  // A NaN observation poisons every loss: skipped, weights untouched.
  TrainBatch nan_obs = Batch(3, 3, 1.0f);
  nan_obs.obs[0][1] = std::nanf("");
  EXPECT_TRUE(agent.Update(nan_obs, true).skipped);
  EXPECT_TRUE(SameWeights(before, agent.Weights()));
  EXPECT_TRUE(agent.BcUpdate(nan_obs).skipped);
  EXPECT_TRUE(SameWeights(before, agent.Weights()));
  EXPECT_TRUE(AllFinite(agent.Weights()));
  // The optimizer state was not touched either: the next good update is finite.
  EXPECT_FALSE(agent.Update(good, true).skipped);
  EXPECT_TRUE(AllFinite(agent.Weights()));
}

TEST(SacTest, ObservationNormalizationIsAppliedAndTravelsWithTheWeights) {
  torch::manual_seed(5);
  SacAgent a(2, 2, Tiny(1)), b(2, 2, Tiny(1));
  const torch::Tensor s = torch::tensor({{3.f, 0.1f}, {5.f, 0.3f}});
  // mean (4, 0.2), std (1, 0.001 -> floored at 0.01)
  a.SetObsNormalization({4.0, 0.2}, {1.0, 0.001});
  const torch::Tensor n = a.Normalize(s);
  EXPECT_NEAR(n[0][0].item<float>(), -1.f, 1e-5);
  EXPECT_NEAR(n[1][0].item<float>(), 1.f, 1e-5);
  EXPECT_NEAR(n[0][1].item<float>(), -10.f, 1e-3);  // (0.1 - 0.2) / 0.01, at the clip
  EXPECT_NEAR(n[1][1].item<float>(), 10.f, 1e-3);
  b.LoadWeights(a.ActorWeights(), "test");
  EXPECT_TRUE(torch::equal(a.Act(s, true), b.Act(s, true)));
  EXPECT_TRUE(torch::allclose(b.Normalize(s), n));
  EXPECT_THROW(a.SetObsNormalization({0.0}, {1.0}), InvalidArgument);
  EXPECT_THROW(a.SetObsNormalization({0.0, std::nan("")}, {1.0, 1.0}), InvalidArgument);
}

TEST(SacTest, EncoderIsTrainedByTheCriticOnlyAndTravelsWithTheActorWeights) {
  torch::manual_seed(8);
  nn::EncoderSpec spec;
  spec.proprio_dim = 2;
  spec.cameras = {"cam"};
  spec.channels = 4;
  spec.height = spec.width = 2;
  spec.proprio_latent = 4;
  spec.bottleneck = 4;
  spec.spatial_features = 2;
  const int64_t obs_dim = spec.input_dim();  // 2 + 16
  SacAgent a(obs_dim, 2, Tiny(1), torch::kCPU, spec), b(obs_dim, 2, Tiny(1), torch::kCPU, spec);
  EXPECT_EQ(a.embedding_dim(), 8);
  EXPECT_THROW(SacAgent(obs_dim + 1, 2, Tiny(1), torch::kCPU, spec), InvalidArgument);
  a.SetObsNormalization({1.0, 2.0}, {1.0, 1.0});  // proprio only
  EXPECT_THROW(a.SetObsNormalization(std::vector<double>(obs_dim, 0.0), std::vector<double>(obs_dim, 1.0)),
               InvalidArgument);
  TrainBatch batch = Batch(obs_dim, 2, 1.0f);
  nn::TensorMap before = a.Weights();
  for (auto& [k, v] : before) v = v.clone();  // Weights() shares storage with the parameters
  a.Update(batch, true);
  const nn::TensorMap after = a.Weights();
  EXPECT_FALSE(torch::equal(before.at("encoder.cameras.0.bottleneck.weight"), after.at("encoder.cameras.0.bottleneck.weight")));
  EXPECT_FALSE(torch::equal(before.at("encoder_target.cameras.0.bottleneck.weight"),
                            after.at("encoder_target.cameras.0.bottleneck.weight")));  // Polyak
  b.LoadWeights(a.ActorWeights(), "test");
  const torch::Tensor s = torch::randn({4, obs_dim});
  EXPECT_TRUE(torch::equal(a.Act(s, true), b.Act(s, true)));  // no dropout when acting
}

// Behaviour cloning: the deterministic action moves to the demonstrated one, the grasp
// head learns the demonstrated gripper command, and the critics are not touched.
TEST(SacTest, BcUpdateImitatesActionsAndGripperCommandsWithoutTouchingTheCritic) {
  torch::manual_seed(3);
  SacOptions o;
  o.hidden = {32, 32};
  o.grippers = 1;
  SacAgent agent(3, 3, o);
  TrainBatch b;
  b.obs = torch::randn({64, 3});
  b.next_obs = b.obs;
  // Target: continuous actions from the first two obs components; gripper closes
  // (-1) when obs[2] > 0, opens (+1) otherwise.
  // The first component saturates (+-1, as scripted and SpaceMouse actions often do).
  b.actions = torch::cat({torch::sign(b.obs.slice(1, 0, 1)), 0.6 * torch::tanh(b.obs.slice(1, 1, 2)),
                          torch::where(b.obs.slice(1, 2, 3) > 0, -torch::ones({64, 1}), torch::ones({64, 1}))}, 1);
  b.rewards = torch::zeros({64});
  b.terminated = torch::zeros({64});
  b.grasp_penalty = torch::zeros({64});
  const nn::TensorMap before = agent.Weights();
  const double first = agent.BcUpdate(b).actor_loss;
  UpdateInfo info;
  for (int i = 0; i < 400; ++i) info = agent.BcUpdate(b);
  EXPECT_LT(info.actor_loss, first - 1.0);
  EXPECT_LT(info.grasp_loss, 0.2);
  const torch::Tensor a = agent.Act(b.obs, /*deterministic=*/true);
  EXPECT_LT((a.slice(1, 0, 2) - b.actions.slice(1, 0, 2)).abs().mean().item<double>(), 0.1);
  EXPECT_GT((a.select(1, 0) * b.actions.select(1, 0)).mean().item<double>(), 0.8) << "saturated actions are imitated too";
  EXPECT_GT((a.select(1, 2) == b.actions.select(1, 2)).to(torch::kFloat).mean().item<double>(), 0.9);
  const nn::TensorMap after = agent.Weights();
  for (const auto& [k, v] : before) {
    if (k.rfind("critic", 0) == 0) {
      EXPECT_TRUE(torch::equal(v, after.at(k))) << k << " changed";
    }
  }
  // Eq. 1 of the paper at one state: a variance, never negative.
  const auto [q, var] = agent.QUnderActionNoise(b.obs.slice(0, 0, 1), 50, 0.2);
  EXPECT_TRUE(std::isfinite(q));
  EXPECT_GE(var, 0.0);
}

}  // namespace
}  // namespace hilserl
