#include "agents/sac.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <torch/nn/functional/loss.h>
#include <torch/serialize.h>

#include "core/error.h"

namespace hilserl {

void SacOptions::Validate() const {
  if (hidden.empty()) throw InvalidArgument("agent: 'hidden' needs at least one layer size");
  for (int64_t h : hidden) {
    if (h <= 0) throw InvalidArgument("agent: layer sizes in 'hidden' must be > 0");
  }
  if (critic_ensemble < 1 || critic_subsample < 1 || critic_subsample > critic_ensemble) {
    throw InvalidArgument(fmt::format("agent: need 1 <= critic_subsample ({}) <= critic_ensemble ({})",
                                      critic_subsample, critic_ensemble));
  }
  if (!(discount > 0 && discount <= 1)) throw InvalidArgument("agent: 'discount' must be in (0, 1]");
  if (!(tau > 0 && tau <= 1)) throw InvalidArgument("agent: 'tau' must be in (0, 1]");
  for (double lr : {actor_lr, critic_lr, temperature_lr, grasp_lr}) {
    if (!(lr > 0 && lr <= 1)) throw InvalidArgument("agent: learning rates must be in (0, 1]");
  }
  if (!(init_temperature > 0 && init_temperature <= 100)) {
    throw InvalidArgument(fmt::format("agent: 'init_temperature' must be in (0, 100], got {}", init_temperature));
  }
  if (grippers < 0 || grippers > 2) throw InvalidArgument("agent: 'grippers' must be 0, 1 or 2");
  if (!(grasp_epsilon >= 0 && grasp_epsilon <= 1)) throw InvalidArgument("agent: 'grasp_epsilon' must be in [0, 1]");
}

void SacOptions::Load(ConfigNode& node) {
  std::vector<double> h(hidden.begin(), hidden.end());
  node.Get("hidden", &h);
  hidden.assign(h.begin(), h.end());
  node.Get("critic_ensemble", &critic_ensemble);
  node.Get("critic_subsample", &critic_subsample);
  node.Get("discount", &discount);
  node.Get("tau", &tau);
  node.Get("actor_lr", &actor_lr);
  node.Get("critic_lr", &critic_lr);
  node.Get("temperature_lr", &temperature_lr);
  node.Get("init_temperature", &init_temperature);
  node.Get("target_entropy", &target_entropy);
  node.Get("backup_entropy", &backup_entropy);
  node.Get("grippers", &grippers);
  node.Get("grasp_lr", &grasp_lr);
  node.Get("grasp_epsilon", &grasp_epsilon);
  node.CheckNoUnknownKeys();
  Validate();
}

SacAgent::SacAgent(int64_t obs_dim, int64_t env_action_dim, const SacOptions& options, torch::Device device,
                   const nn::EncoderSpec& encoder)
    : options_(options), device_(device), obs_dim_(obs_dim), env_action_dim_(env_action_dim), encoder_spec_(encoder) {
  options_.Validate();
  if (encoder_spec_.enabled()) {
    if (encoder_spec_.input_dim() != obs_dim) {
      throw InvalidArgument(fmt::format("agent: observation rows have {} values, the encoder expects {} proprio + {} "
                                        "cameras x {} features = {}", obs_dim, encoder_spec_.proprio_dim,
                                        encoder_spec_.cameras.size(), encoder_spec_.camera_feature_size(),
                                        encoder_spec_.input_dim()));
    }
    norm_dim_ = encoder_spec_.proprio_dim;
    embed_dim_ = encoder_spec_.output_dim();
    encoder_ = nn::ObsEncoder(encoder_spec_);
    encoder_target_ = nn::ObsEncoder(encoder_spec_);
    encoder_->to(device_);
    encoder_target_->to(device_);
    nn::HardUpdate(*encoder_target_, *encoder_);
    encoder_target_->eval();
  } else {
    norm_dim_ = obs_dim;
    embed_dim_ = obs_dim;
  }
  cont_dim_ = env_action_dim - options_.grippers;
  if (cont_dim_ < 1) {
    throw InvalidArgument(fmt::format("agent: action has {} components of which {} are grippers; at least "
                                      "one continuous component is needed", env_action_dim, options_.grippers));
  }
  num_grasp_actions_ = options_.grippers == 0 ? 0 : (options_.grippers == 1 ? 3 : 9);
  target_entropy_ = options_.target_entropy != 0.0 ? options_.target_entropy : -0.5 * static_cast<double>(cont_dim_);

  policy_ = nn::TanhGaussianPolicy(embed_dim_, options_.hidden, cont_dim_);
  critic_ = nn::EnsembleMLP(options_.critic_ensemble, embed_dim_ + cont_dim_, options_.hidden, 1);
  critic_target_ = nn::EnsembleMLP(options_.critic_ensemble, embed_dim_ + cont_dim_, options_.hidden, 1);
  policy_->to(device_);
  critic_->to(device_);
  critic_target_->to(device_);
  nn::HardUpdate(*critic_target_, *critic_);
  obs_mean_ = torch::zeros({norm_dim_}, torch::TensorOptions().device(device_));
  obs_scale_ = torch::ones({norm_dim_}, torch::TensorOptions().device(device_));
  log_alpha_ = torch::full({1}, std::log(options_.init_temperature),
                           torch::TensorOptions().device(device_).requires_grad(true));
  actor_opt_ = std::make_unique<torch::optim::Adam>(policy_->parameters(), torch::optim::AdamOptions(options_.actor_lr));
  std::vector<torch::Tensor> critic_params = critic_->parameters();
  if (encoder_) {
    for (const auto& p : encoder_->parameters()) critic_params.push_back(p);  // the critic trains the encoder
  }
  critic_opt_ = std::make_unique<torch::optim::Adam>(critic_params, torch::optim::AdamOptions(options_.critic_lr));
  temp_opt_ = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{log_alpha_},
                                                   torch::optim::AdamOptions(options_.temperature_lr));
  if (num_grasp_actions_ > 0) {
    grasp_ = nn::MLP(embed_dim_, options_.hidden, num_grasp_actions_);
    grasp_target_ = nn::MLP(embed_dim_, options_.hidden, num_grasp_actions_);
    grasp_->to(device_);
    grasp_target_->to(device_);
    nn::HardUpdate(*grasp_target_, *grasp_);
    grasp_opt_ = std::make_unique<torch::optim::Adam>(grasp_->parameters(), torch::optim::AdamOptions(options_.grasp_lr));
  }
}

void SacAgent::SetObsNormalization(const std::vector<double>& mean, const std::vector<double>& stddev,
                                   double min_std) {
  if (static_cast<int64_t>(mean.size()) != norm_dim_ || static_cast<int64_t>(stddev.size()) != norm_dim_) {
    throw InvalidArgument(fmt::format("observation normalisation: expected {} means and standard deviations, got {} and {}",
                                      norm_dim_, mean.size(), stddev.size()));
  }
  std::vector<float> m(norm_dim_), sc(norm_dim_);
  for (int64_t i = 0; i < norm_dim_; ++i) {
    if (!std::isfinite(mean[i]) || !std::isfinite(stddev[i]) || stddev[i] < 0) {
      throw InvalidArgument(fmt::format("observation normalisation: component {} has mean {} and std {}", i, mean[i], stddev[i]));
    }
    m[i] = static_cast<float>(mean[i]);
    sc[i] = static_cast<float>(1.0 / std::max(stddev[i], min_std));
  }
  obs_mean_ = torch::tensor(m).to(device_);
  obs_scale_ = torch::tensor(sc).to(device_);
}

torch::Tensor SacAgent::Normalize(const torch::Tensor& obs) const {
  if (norm_dim_ == obs_dim_) return NormalizedProprio(obs);
  return torch::cat({NormalizedProprio(obs), obs.slice(1, norm_dim_)}, 1);
}

torch::Tensor SacAgent::NormalizedProprio(const torch::Tensor& obs) const {
  return ((obs.slice(1, 0, norm_dim_) - obs_mean_) * obs_scale_).clamp(-10.0, 10.0);
}

torch::Tensor SacAgent::Embed(const torch::Tensor& obs) {
  // With an encoder only the proprio slice is normalised and handed over separately: the
  // camera part (tens of thousands of values per row) is never copied.
  return encoder_ ? encoder_->forward(obs, NormalizedProprio(obs)) : Normalize(obs);
}

torch::Tensor SacAgent::EmbedTarget(const torch::Tensor& obs) {
  return encoder_target_ ? encoder_target_->forward(obs, NormalizedProprio(obs)) : Normalize(obs);
}

double SacAgent::temperature() const { return std::exp(log_alpha_.item<double>()); }

torch::Tensor SacAgent::Critic(nn::EnsembleMLP& net, const torch::Tensor& obs, const torch::Tensor& act) {
  return net->forward(torch::cat({obs, act}, -1)).squeeze(-1);  // [N, B]
}

torch::Tensor SacAgent::GripperIndex(const torch::Tensor& env_actions) const {
  torch::Tensor index = torch::zeros({env_actions.size(0)}, torch::TensorOptions().dtype(torch::kLong).device(env_actions.device()));
  for (int g = 0; g < options_.grippers; ++g) {
    const torch::Tensor v = env_actions.select(1, cont_dim_ + g);
    // <= -0.5 close (0), >= 0.5 open (2), otherwise stay (1).
    const torch::Tensor d = torch::where(v <= -0.5, torch::zeros_like(index),
                                         torch::where(v >= 0.5, torch::full_like(index, 2), torch::ones_like(index)));
    index = index * 3 + d;
  }
  return index;
}

torch::Tensor SacAgent::GripperValues(const torch::Tensor& index) const {
  std::vector<torch::Tensor> cols(options_.grippers);
  torch::Tensor rest = index;
  for (int g = options_.grippers - 1; g >= 0; --g) {
    cols[g] = (rest % 3).to(torch::kFloat) - 1.0;  // 0 -> -1 (close), 1 -> 0, 2 -> +1 (open)
    rest = torch::div(rest, 3, "floor");
  }
  return torch::stack(cols, 1);
}

torch::Tensor SacAgent::Act(const torch::Tensor& obs, bool deterministic) {
  torch::NoGradGuard no_grad;
  if (encoder_) encoder_->eval();  // no dropout when acting
  const torch::Tensor x = Embed(obs.to(device_));
  if (encoder_) encoder_->train();
  const nn::PolicyOutput out = policy_->forward(x, deterministic);
  torch::Tensor action = deterministic ? out.mean : out.action;
  if (num_grasp_actions_ > 0) {
    torch::Tensor idx = grasp_->forward(x).argmax(-1);
    if (!deterministic && options_.grasp_epsilon > 0) {
      const torch::Tensor explore = torch::rand({idx.size(0)}, torch::TensorOptions().device(device_)) < options_.grasp_epsilon;
      idx = torch::where(explore, torch::randint_like(idx, num_grasp_actions_), idx);
    }
    action = torch::cat({action, GripperValues(idx)}, -1);
  }
  return action;
}

torch::Tensor SacAgent::CriticLoss(const TrainBatch& b, torch::Tensor* q_rows) {
  torch::Tensor z_next, z_next_target;
  {
    torch::NoGradGuard no_grad;
    z_next = Embed(b.next_obs);
    z_next_target = EmbedTarget(b.next_obs);
  }
  return CriticLossOn(Embed(b.obs), z_next, z_next_target, b, q_rows);
}

torch::Tensor SacAgent::GraspLoss(const TrainBatch& b) {
  torch::NoGradGuard no_grad_embedding;
  const torch::Tensor z = Embed(b.obs), z_next = Embed(b.next_obs), z_next_target = EmbedTarget(b.next_obs);
  torch::AutoGradMode grad(true);
  return GraspLossOn(z, z_next, z_next_target, b);
}

torch::Tensor SacAgent::CriticLossOn(const torch::Tensor& z, const torch::Tensor& z_next,
                                     const torch::Tensor& z_next_target, const TrainBatch& b, torch::Tensor* q_rows) {
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    const nn::PolicyOutput next = policy_->forward(z_next);
    torch::Tensor q_next = Critic(critic_target_, z_next_target, next.action);  // [N, B]
    if (options_.critic_subsample < options_.critic_ensemble) {
      const torch::Tensor pick = torch::randperm(options_.critic_ensemble, torch::TensorOptions().dtype(torch::kLong).device(device_))
                                     .slice(0, 0, options_.critic_subsample);
      q_next = q_next.index_select(0, pick);
    }
    torch::Tensor v = std::get<0>(q_next.min(0));
    if (options_.backup_entropy) v = v - log_alpha_.exp() * next.log_prob;
    target = b.rewards + options_.discount * (1.0 - b.terminated) * v;
  }
  const torch::Tensor q = Critic(critic_, z, b.actions.slice(1, 0, cont_dim_));
  if (q_rows) *q_rows = q.mean(0).detach();
  return (q - target.unsqueeze(0)).pow(2).mean();
}

torch::Tensor SacAgent::GraspLossOn(const torch::Tensor& z, const torch::Tensor& z_next,
                                    const torch::Tensor& z_next_target, const TrainBatch& b) {
  HILSERL_CHECK(num_grasp_actions_ > 0, "GraspLoss without a grasp critic");
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor best = grasp_->forward(z_next).argmax(-1, true);  // double DQN
    const torch::Tensor next_q = grasp_target_->forward(z_next_target).gather(1, best).squeeze(1);
    target = b.rewards + b.grasp_penalty + options_.discount * (1.0 - b.terminated) * next_q;
  }
  const torch::Tensor q = grasp_->forward(z).gather(1, GripperIndex(b.actions).unsqueeze(1)).squeeze(1);
  return (q - target).pow(2).mean();
}

namespace {

// Steps `opt` after loss.backward() only if the loss and every gradient are finite
// (summed in double precision: a NaN or Inf anywhere survives the sum); otherwise clears
// the gradients and returns false, leaving weights and optimizer state untouched.
bool StepIfFinite(torch::optim::Optimizer& opt, const torch::Tensor& loss) {
  bool finite = std::isfinite(loss.item<double>());
  if (finite) {
    double sum = 0;
    for (auto& group : opt.param_groups()) {
      for (auto& p : group.params()) {
        if (p.grad().defined()) sum += p.grad().sum(torch::kDouble).item<double>();
      }
    }
    finite = std::isfinite(sum);
  }
  if (!finite) {
    opt.zero_grad();
    return false;
  }
  opt.step();
  return true;
}

}  // namespace

UpdateInfo SacAgent::Update(const TrainBatch& b, bool update_actor) {
  UpdateInfo info;
  // Critic.
  // Embeddings once per batch: the critic trains the encoder through z; the grasp critic
  // and the actor read it detached.
  const torch::Tensor z = Embed(b.obs);
  torch::Tensor z_next, z_next_target;
  {
    torch::NoGradGuard no_grad;
    z_next = Embed(b.next_obs);
    z_next_target = encoder_ ? EmbedTarget(b.next_obs) : z_next;
  }
  const torch::Tensor z_detached = z.detach();
  torch::Tensor q_rows;
  const torch::Tensor critic_loss = CriticLossOn(z, z_next, z_next_target, b, &q_rows);
  critic_opt_->zero_grad();
  critic_loss.backward();
  const bool critic_stepped = StepIfFinite(*critic_opt_, critic_loss);
  info.critic_loss = critic_loss.item<double>();
  if (!critic_stepped) {
    // Nothing of this update is applied: the grasp critic and the actor would learn from
    // the same poisoned batch.
    info.skipped = true;
    info.q_mean = info.q_demo = info.q_online = std::nan("");
    info.temperature = temperature();
    return info;
  }
  info.q_mean = q_rows.mean().item<double>();
  const int64_t rows = q_rows.size(0), demo = std::clamp<int64_t>(b.demo_rows, 0, rows);
  info.q_demo = demo > 0 ? q_rows.slice(0, 0, demo).mean().item<double>() : std::nan("");
  info.q_online = demo < rows ? q_rows.slice(0, demo, rows).mean().item<double>() : std::nan("");

  // Grasp critic.
  bool grasp_stepped = false;
  if (num_grasp_actions_ > 0) {
    const torch::Tensor grasp_loss = GraspLossOn(z_detached, z_next, z_next_target, b);
    grasp_opt_->zero_grad();
    grasp_loss.backward();
    grasp_stepped = StepIfFinite(*grasp_opt_, grasp_loss);
    info.skipped = info.skipped || !grasp_stepped;
    info.grasp_loss = grasp_loss.item<double>();
  }

  // Actor and temperature.
  if (update_actor) {
    const nn::PolicyOutput out = policy_->forward(z_detached);
    const torch::Tensor q = Critic(critic_, z_detached, out.action).mean(0);
    const torch::Tensor alpha = log_alpha_.exp().detach();
    const torch::Tensor actor_loss = (alpha * out.log_prob - q).mean();
    actor_opt_->zero_grad();
    actor_loss.backward();
    const bool actor_stepped = StepIfFinite(*actor_opt_, actor_loss);
    const torch::Tensor temp_loss = -(log_alpha_ * (out.log_prob.detach() + target_entropy_)).mean();
    temp_opt_->zero_grad();
    temp_loss.backward();
    const bool temp_stepped = StepIfFinite(*temp_opt_, temp_loss);
    info.skipped = info.skipped || !actor_stepped || !temp_stepped;
    info.actor_loss = actor_loss.item<double>();
    info.entropy = -out.log_prob.mean().item<double>();
  }
  info.temperature = temperature();

  nn::PolyakUpdate(*critic_target_, *critic_, options_.tau);
  if (encoder_) nn::PolyakUpdate(*encoder_target_, *encoder_, options_.tau);
  if (grasp_stepped) nn::PolyakUpdate(*grasp_target_, *grasp_, options_.tau);
  return info;
}

torch::Tensor SacAgent::QValue(const torch::Tensor& obs, const torch::Tensor& continuous_actions) {
  torch::NoGradGuard no_grad;
  if (encoder_) encoder_->eval();
  const torch::Tensor z = Embed(obs.to(device_));
  if (encoder_) encoder_->train();
  return Critic(critic_, z, continuous_actions.to(device_)).mean(0);
}

std::pair<double, double> SacAgent::QUnderActionNoise(const torch::Tensor& obs, int samples, double noise) {
  torch::NoGradGuard no_grad;
  HILSERL_CHECK(obs.dim() == 2 && obs.size(0) == 1, "QUnderActionNoise takes one observation row");
  const nn::PolicyOutput d = Distribution(obs);
  const torch::Tensor a = d.mean.expand({samples, cont_dim_});
  const torch::Tensor noisy = (a + (torch::rand_like(a) * 2.0 - 1.0) * noise).clamp(-1.0, 1.0);
  const torch::Tensor q = QValue(obs.expand({samples, obs.size(1)}), noisy);
  return {q.mean().item<double>(), q.var(/*unbiased=*/false).item<double>()};
}

nn::PolicyOutput SacAgent::Distribution(const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  if (encoder_) encoder_->eval();
  const torch::Tensor z = Embed(obs.to(device_));
  if (encoder_) encoder_->train();
  return policy_->forward(z, /*deterministic=*/true);
}

namespace {
// Weight of the deterministic action's squared error next to the likelihood in BcUpdate
// (the squared error of a unit action is ~4 per component at worst, the likelihood tens).
constexpr double kBcSquaredErrorWeight = 10.0;
}  // namespace

UpdateInfo SacAgent::BcUpdate(const TrainBatch& b) {
  if (!bc_opt_) {
    std::vector<torch::Tensor> params = policy_->parameters();
    if (encoder_) {
      for (const auto& p : encoder_->parameters()) params.push_back(p);
    }
    if (grasp_) {
      for (const auto& p : grasp_->parameters()) params.push_back(p);
    }
    bc_opt_ = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(options_.actor_lr));
  }
  UpdateInfo info;
  const torch::Tensor z = Embed(b.obs);
  // log pi(a | s) of the demonstrated continuous action: pre-tanh u = atanh(a), clipped
  // away from +-1 where atanh diverges; the policy's sample path is not needed.
  const torch::Tensor a = b.actions.slice(1, 0, cont_dim_).clamp(-0.999, 0.999);
  const torch::Tensor u = torch::atanh(a);
  const nn::PolicyOutput out = policy_->forward(z, /*deterministic=*/true);
  const torch::Tensor log_normal =
      -0.5 * ((u - out.loc) / out.std).pow(2) - torch::log(out.std) - 0.5 * std::log(2.0 * M_PI);
  const torch::Tensor nll = -(log_normal - nn::LogOneMinusTanhSquared(u)).sum(-1).mean();
  // The likelihood alone fits the mean poorly where demonstrations saturate (+-1, common
  // for scripted and SpaceMouse actions): a wide std explains the error away and the mean's
  // gradient shrinks with 1/std^2. The squared error of the deterministic action keeps the
  // mean on the demonstrated action.
  const torch::Tensor mse = (out.mean - b.actions.slice(1, 0, cont_dim_).clamp(-1.0, 1.0)).pow(2).sum(-1).mean();
  torch::Tensor loss = nll + kBcSquaredErrorWeight * mse;
  if (num_grasp_actions_ > 0) {
    const torch::Tensor logits = grasp_->forward(z);
    const torch::Tensor ce = torch::nn::functional::cross_entropy(logits, GripperIndex(b.actions));
    loss = loss + ce;
    info.grasp_loss = ce.item<double>();
  }
  bc_opt_->zero_grad();
  loss.backward();
  info.skipped = !StepIfFinite(*bc_opt_, loss);
  info.actor_loss = nll.item<double>() + kBcSquaredErrorWeight * mse.item<double>();
  info.temperature = temperature();
  return info;
}

namespace {
void Prefixed(nn::TensorMap* out, const std::string& prefix, const torch::nn::Module& m) {
  for (auto& [k, v] : nn::StateDict(m)) (*out)[prefix + k] = v;
}
}  // namespace

nn::TensorMap SacAgent::Weights() const {
  nn::TensorMap out = ActorWeights();
  Prefixed(&out, "critic.", *critic_);
  Prefixed(&out, "critic_target.", *critic_target_);
  if (encoder_target_) Prefixed(&out, "encoder_target.", *encoder_target_);
  if (grasp_target_) Prefixed(&out, "grasp_target.", *grasp_target_);
  out["log_alpha"] = log_alpha_.detach();
  return out;
}

nn::TensorMap SacAgent::ActorWeights() const {
  nn::TensorMap out;
  Prefixed(&out, "policy.", *policy_);
  if (grasp_) Prefixed(&out, "grasp.", *grasp_);
  if (encoder_) Prefixed(&out, "encoder.", *encoder_);
  out["obs_norm.mean"] = obs_mean_;
  out["obs_norm.scale"] = obs_scale_;
  return out;
}

void SacAgent::LoadWeights(const nn::TensorMap& w, const std::string& source) {
  nn::LoadStateDict(*policy_, w, source, false, "policy.");
  if (encoder_) {
    nn::LoadStateDict(*encoder_, w, source, false, "encoder.");
    const bool has_target = std::any_of(w.begin(), w.end(), [](const auto& kv) {
      return kv.first.rfind("encoder_target.", 0) == 0;
    });
    if (has_target) {
      nn::LoadStateDict(*encoder_target_, w, source, false, "encoder_target.");
    }
  }
  if (w.count("critic.w0")) {
    nn::LoadStateDict(*critic_, w, source, false, "critic.");
    nn::LoadStateDict(*critic_target_, w, source, false, "critic_target.");
  }
  if (grasp_) {
    nn::LoadStateDict(*grasp_, w, source, false, "grasp.");
    if (w.count("grasp_target.head.weight")) nn::LoadStateDict(*grasp_target_, w, source, false, "grasp_target.");
  }
  auto norm = w.find("obs_norm.mean"), scale = w.find("obs_norm.scale");
  if (norm != w.end() && scale != w.end()) {
    if (norm->second.numel() != norm_dim_ || scale->second.numel() != norm_dim_) {
      throw DataLoss(fmt::format("{}: obs_norm tensors have {} and {} elements, the agent's proprio has {}",
                                 source, norm->second.numel(), scale->second.numel(), norm_dim_));
    }
    obs_mean_ = norm->second.to(device_, torch::kFloat).reshape({norm_dim_}).clone();
    obs_scale_ = scale->second.to(device_, torch::kFloat).reshape({norm_dim_}).clone();
  }
  if (auto it = w.find("log_alpha"); it != w.end()) {
    torch::NoGradGuard g;
    log_alpha_.copy_(it->second.to(device_));
  }
}

void SacAgent::SaveOptimizers(const std::string& path) const {
  torch::serialize::OutputArchive archive;
  auto save = [&](const char* name, const torch::optim::Optimizer* opt) {
    if (!opt) return;
    torch::serialize::OutputArchive sub;
    opt->save(sub);
    archive.write(name, sub);
  };
  save("actor", actor_opt_.get());
  save("critic", critic_opt_.get());
  save("temperature", temp_opt_.get());
  save("grasp", grasp_opt_.get());
  archive.save_to(path);
}

void SacAgent::LoadOptimizers(const std::string& path) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
    auto load = [&](const char* name, torch::optim::Optimizer* opt) {
      if (!opt) return;
      torch::serialize::InputArchive sub;
      archive.read(name, sub);
      opt->load(sub);
    };
    load("actor", actor_opt_.get());
    load("critic", critic_opt_.get());
    load("temperature", temp_opt_.get());
    load("grasp", grasp_opt_.get());
  } catch (const c10::Error& e) {
    throw DataLoss(fmt::format("optimizer state '{}' is unreadable: {}", path, e.what_without_backtrace()));
  }
}

}  // namespace hilserl
