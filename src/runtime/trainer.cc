#include "runtime/trainer.h"

#include <atomic>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/paths.h"
#include "core/progress.h"
#include "data/episode_dataset.h"
#include "data/replay_buffer.h"
#include "runtime/tensorboard.h"
#include "teleop/human_operator.h"
#include "teleop/scripted_operator.h"

namespace hilserl {
namespace fs = std::filesystem;

// ---------------------------------------------------------------- options

void TrainOptions::Validate() const {
  if (env_steps < 1) throw InvalidArgument("train: 'env_steps' must be >= 1");
  if (training_starts < 1) throw InvalidArgument("train: 'training_starts' must be >= 1");
  if (batch_size < 2) throw InvalidArgument("train: 'batch_size' must be >= 2");
  if (critic_actor_ratio < 1) throw InvalidArgument("train: 'critic_actor_ratio' must be >= 1");
  if (!(learner_steps_per_env_step > 0)) throw InvalidArgument("train: 'learner_steps_per_env_step' must be > 0");
  if (replay_capacity < 2 || demo_capacity < 2) throw InvalidArgument("train: capacities must be >= 2");
  if (weight_sync_every < 1) throw InvalidArgument("train: 'weight_sync_every' must be >= 1");
  if (!(demo_fraction >= 0 && demo_fraction < 1)) throw InvalidArgument("train: 'demo_fraction' must be in [0, 1)");
  if (torch_threads < 1) throw InvalidArgument("train: 'torch_threads' must be >= 1");
}

void TrainOptions::Load(ConfigNode& node) {
  int env = static_cast<int>(env_steps), starts = static_cast<int>(training_starts);
  int cap = static_cast<int>(replay_capacity), dcap = static_cast<int>(demo_capacity);
  int ckpt = static_cast<int>(checkpoint_every);
  node.Get("env_steps", &env);
  node.Get("training_starts", &starts);
  node.Get("batch_size", &batch_size);
  node.Get("critic_actor_ratio", &critic_actor_ratio);
  node.Get("learner_steps_per_env_step", &learner_steps_per_env_step);
  node.Get("replay_capacity", &cap);
  node.Get("demo_capacity", &dcap);
  node.Get("weight_sync_every", &weight_sync_every);
  node.Get("demo_fraction", &demo_fraction);
  node.Get("checkpoint_every", &ckpt);
  node.Get("eval_episodes", &eval_episodes);
  node.Get("torch_threads", &torch_threads);
  node.Get("interventions", &interventions);
  node.Get("normalize_observations", &normalize_observations);
  node.CheckNoUnknownKeys();
  env_steps = env;
  training_starts = starts;
  replay_capacity = cap;
  demo_capacity = dcap;
  checkpoint_every = ckpt;
  Validate();
}

// ---------------------------------------------------------------- agent setup

AgentSetup DescribeAgent(const TaskConfig& config, const Env& env) {
  AgentSetup s;
  const VectorSpace& actions = env.action_space();
  s.action_dim = actions.size();
  // Gripper components ("gripper", "<arm>/gripper") must be the trailing ones: the grasp
  // critic chooses them, the policy the rest.
  auto is_gripper = [&](int i) {
    const std::string& l = i < static_cast<int>(actions.labels.size()) ? actions.labels[i] : std::string();
    return l == "gripper" || (l.size() > 8 && l.compare(l.size() - 8, 8, "/gripper") == 0);
  };
  int grippers = 0;
  while (grippers < actions.size() && is_gripper(actions.size() - 1 - grippers)) ++grippers;
  for (int i = 0; i < actions.size() - grippers; ++i) {
    if (is_gripper(i)) throw InvalidArgument("agent: gripper components must come last in the action space");
  }
  s.options.grippers = grippers;
  ConfigNode node = config.Section("agent");
  s.options.Load(node);

  const ObservationSpec& spec = env.observation_spec();
  if (spec.images.empty()) {
    s.layout = ReplayLayout::From(spec, static_cast<int>(s.action_dim));
  } else {
    ConfigNode enc = config.Section("encoder");
    std::string weights;
    int seed = 0;
    enc.Get("weights", &weights);
    enc.Get("seed", &seed);
    int spatial = static_cast<int>(s.encoder.spatial_features), bottleneck = static_cast<int>(s.encoder.bottleneck);
    int latent = static_cast<int>(s.encoder.proprio_latent);
    enc.Get("spatial_features", &spatial);
    enc.Get("bottleneck", &bottleneck);
    enc.Get("proprio_latent", &latent);
    s.encoder.spatial_features = spatial;
    s.encoder.bottleneck = bottleneck;
    s.encoder.proprio_latent = latent;
    enc.Get("dropout", &s.encoder.dropout);
    enc.CheckNoUnknownKeys();
    if (s.encoder.spatial_features < 1 || s.encoder.bottleneck < 1 || s.encoder.proprio_latent < 1 ||
        !(s.encoder.dropout >= 0 && s.encoder.dropout < 1)) {
      throw InvalidArgument("encoder: 'spatial_features', 'bottleneck' and 'proprio_latent' must be >= 1, "
                            "'dropout' in [0, 1)");
    }
    s.backbone_weights = weights.empty() ? "" : ResolvePath(weights);
    s.backbone_seed = static_cast<uint64_t>(seed);
    const int size = spec.images.front().height;
    std::vector<FeatureSpec> features;
    for (const auto& img : spec.images) {
      if (img.height != size || img.width != size || img.channels != 3 || size % 32 != 0) {
        throw InvalidArgument(fmt::format("encoder: camera '{}' gives {}x{}x{} images; the ResNet-10 backbone needs "
                                          "square RGB images of one size, a multiple of 32 (e.g. 128x128x3)",
                                          img.name, img.height, img.width, img.channels));
      }
      s.encoder.cameras.push_back(img.name);
    }
    s.encoder.channels = 512;
    s.encoder.height = s.encoder.width = size / 32;
    for (const auto& cam : s.encoder.cameras) features.push_back({cam, static_cast<int>(s.encoder.camera_feature_size())});
    s.layout = ReplayLayout::WithFeatures(spec, static_cast<int>(s.action_dim), features);
    s.encoder.proprio_dim = s.layout.proprio_dim();
  }
  s.obs_dim = s.layout.proprio_dim() + s.layout.feature_dim();
  return s;
}

std::unique_ptr<SacAgent> MakeAgent(const AgentSetup& setup) {
  return std::make_unique<SacAgent>(setup.obs_dim, setup.action_dim, setup.options, torch::kCPU, setup.encoder);
}

std::unique_ptr<nn::FrozenBackbone> MakeBackbone(const AgentSetup& setup, const std::string& weights_override) {
  if (!setup.encoder.enabled()) return nullptr;
  const std::string weights = weights_override.empty() ? setup.backbone_weights : weights_override;
  return std::make_unique<nn::FrozenBackbone>(setup.encoder.cameras, static_cast<int>(setup.encoder.height * 32),
                                              weights, setup.backbone_seed);
}

namespace {

// [proprio | features of each camera] as one row.
torch::Tensor Flatten(const ReplayLayout& layout, const Observation& obs) {
  torch::Tensor t = torch::empty({1, layout.proprio_dim() + layout.feature_dim()});
  layout.FlattenProprio(obs, t.data_ptr<float>());
  layout.FlattenFeatures(obs, t.data_ptr<float>() + layout.proprio_dim());
  return t;
}

}  // namespace

PolicyFn AgentPolicy(const Env& env, SacAgent& agent, nn::FrozenBackbone* backbone) {
  ReplayLayout layout = ReplayLayout::From(env.observation_spec(), env.action_space().size());
  if (agent.encoder_spec().enabled()) {
    if (backbone == nullptr) {
      throw InvalidArgument("this agent reads camera features: it needs the frozen backbone it was trained with to act");
    }
    std::vector<FeatureSpec> features;
    for (const auto& cam : agent.encoder_spec().cameras) {
      features.push_back({cam, static_cast<int>(agent.encoder_spec().camera_feature_size())});
    }
    layout = ReplayLayout::WithFeatures(env.observation_spec(), env.action_space().size(), features);
  }
  return [layout, &agent, backbone](Env&, const Observation& obs) {
    torch::Tensor a;
    if (backbone) {
      Observation encoded = obs;
      backbone->Encode(&encoded);
      a = agent.Act(Flatten(layout, encoded), true);
    } else {
      a = agent.Act(Flatten(layout, obs), true);
    }
    return Action(a.data_ptr<float>(), a.data_ptr<float>() + a.size(1));
  };
}

RolloutSummary Evaluate(Env& env, SacAgent& agent, const RolloutOptions& options, nn::FrozenBackbone* backbone) {
  return RunRollouts(env, AgentPolicy(env, agent, backbone), options);
}

// ---------------------------------------------------------------- checkpoints

namespace {

void WriteCheckpoint(const std::string& dir, SacAgent& agent, const TaskConfig& config, int64_t env_steps,
                     int64_t learner_steps, const nn::FrozenBackbone* backbone) {
  const fs::path final_dir(dir);
  const fs::path tmp = final_dir.string() + ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  nn::SaveSafetensors((tmp / "weights.safetensors").string(), agent.Weights(),
                      {{"format", "hilserl-sac"}, {"task", config.task}});
  agent.SaveOptimizers((tmp / "optimizers.pt").string());
  if (backbone) {
    nn::SaveSafetensors((tmp / "backbone.safetensors").string(), backbone->Weights(),
                        {{"format", "resnet10"}, {"source", backbone->source()}});
  }
  std::ofstream((tmp / "config.yaml").string()) << config.root.ToYaml() << "\n";
  nlohmann::json meta = {{"env_steps", env_steps}, {"learner_steps", learner_steps}, {"task", config.task},
                         {"obs_dim", agent.obs_dim()}, {"action_dim", agent.env_action_dim()}};
  std::ofstream((tmp / "meta.json").string()) << meta.dump(2) << "\n";
  // Replace atomically: a reader sees the old or the new checkpoint, never half of one.
  const fs::path old = final_dir.string() + ".old";
  fs::remove_all(old);
  if (fs::exists(final_dir)) fs::rename(final_dir, old);
  fs::rename(tmp, final_dir);
  fs::remove_all(old);
}

// ---------------------------------------------------------------- actor -> learner queue

struct StepItem {
  uint64_t episode_id = 0;
  int step = 0;
  std::shared_ptr<const Observation> obs, next_obs;
  Action action;
  float reward = 0;
  bool terminated = false, truncated = false, intervened = false;
  float grasp_penalty = 0;
};

struct EpisodeItem {
  double episode_return = 0;
  int length = 0;
  int intervened = 0;
  bool success = false;
  int64_t env_step = 0;
};

// Shared state between the threads. Every field behind `mu` unless atomic.
struct Shared {
  std::mutex mu;
  std::condition_variable data_cv;     // new steps for the learner, or stop
  std::condition_variable learner_cv;  // learner progressed, or stop
  std::deque<StepItem> steps;
  std::deque<EpisodeItem> episodes;    // for the main thread
  bool stop = false;
  bool actor_done = false;
  std::exception_ptr error;
  std::atomic<int64_t> env_steps{0};
  std::atomic<int64_t> learner_steps{0};
  std::atomic<bool> training_started{false};
  // Latest actor weights.
  nn::TensorMap weights;
  int64_t weights_version = 0;

  void Fail(std::exception_ptr e) {
    std::lock_guard<std::mutex> l(mu);
    if (!error) error = e;
    stop = true;
    data_cv.notify_all();
    learner_cv.notify_all();
  }
};

}  // namespace

// ---------------------------------------------------------------- training

TrainResult Train(TrainRequest req) {
  TrainOptions opt;
  {
    ConfigNode node = req.config.Section("train");
    opt.Load(node);
  }
  nn::ConfigureCpuThreads(opt.torch_threads);
  torch::manual_seed(req.seed);

  std::unique_ptr<Env> env = MakeEnv(req.config);
  const AgentSetup setup = DescribeAgent(req.config, *env);
  const ReplayLayout layout = setup.layout;
  std::unique_ptr<nn::FrozenBackbone> backbone = MakeBackbone(setup);
  if (backbone) spdlog::info("frozen ResNet-10 backbone for cameras {}: {}", fmt::join(setup.encoder.cameras, ", "), backbone->source());
  SacAgent learner_agent(setup.obs_dim, setup.action_dim, setup.options, torch::kCPU, setup.encoder);
  SacAgent actor_agent(setup.obs_dim, setup.action_dim, setup.options, torch::kCPU, setup.encoder);
  actor_agent.LoadWeights(learner_agent.ActorWeights(), "initial weights");

  ReplayBuffer rl_buffer(opt.replay_capacity, layout);
  ReplayBuffer demo_buffer(opt.demo_capacity, layout);
  int demo_episodes = 0;
  if (!req.demos.empty()) {
    auto episodes = ReadEpisodes(req.demos);
    CheckEpisodesMatch(episodes, env->observation_spec(), static_cast<int>(setup.action_dim), req.demos);
    if (backbone) {
      // Encode every demo frame once; the buffer keeps the features, not the pixels.
      std::vector<Observation*> frames;
      for (auto& ep : episodes) {
        for (auto& o : ep.observations) frames.push_back(&o);
      }
      spdlog::info("encoding {} demo frames with the frozen backbone", frames.size());
      backbone->EncodeMany(frames);
      for (Observation* o : frames) o->images.clear();
    }
    uint64_t id = 1ull << 62;
    for (const auto& ep : episodes) {
      for (int t = 0; t < ep.length(); ++t) {
        StepRecord r{id, t, &ep.observations[t], &ep.observations[t + 1], ep.actions[t], ep.rewards[t],
                     ep.terminated[t] != 0, ep.truncated[t] != 0, ep.grasp_penalty[t], ep.intervened[t] != 0};
        demo_buffer.Add(r);
      }
      ++id;
      ++demo_episodes;
    }
    spdlog::info("loaded {} demo episodes ({} transitions) from {}", demo_episodes, demo_buffer.size(), req.demos);
  }
  // Observation statistics: from the demos when there are any, else from the first
  // training_starts steps (set by the learner before its first update).
  auto set_normalization = [&](const ReplayBuffer& source) {
    std::vector<double> mean, stddev;
    source.ProprioStats(&mean, &stddev);
    learner_agent.SetObsNormalization(mean, stddev);
  };
  bool normalized = !opt.normalize_observations;
  if (!normalized && demo_buffer.size() > 0) {
    set_normalization(demo_buffer);
    actor_agent.LoadWeights(learner_agent.ActorWeights(), "initial weights");
    normalized = true;
  }

  fs::create_directories(req.run_dir);
  std::ofstream episodes_csv(fs::path(req.run_dir) / "episodes.csv");
  episodes_csv << "episode,env_step,return,length,success,intervened_steps,intervention_rate,wall_s\n";
  std::ofstream learner_csv(fs::path(req.run_dir) / "learner.csv");
  learner_csv << "learner_step,env_step,critic_loss,q_mean,q_demo,q_online,actor_loss,temperature,entropy,grasp_loss,updates_per_s\n";
  // TensorBoard scalars (`tensorboard --logdir <run dir>`), shared by the learner and main threads.
  TensorBoardWriter tensorboard(req.run_dir);
  std::mutex tensorboard_mu;
  const double control_dt = env->control_dt();

  std::unique_ptr<Operator> op;
  const bool realtime = !req.teleop_device.empty();
  if (realtime) {
    op = std::make_unique<HumanOperator>(OpenTeleopDevice(req.teleop_device));
    spdlog::info("teleop device '{}' ready: move it to take over from the policy", req.teleop_device);
  } else if (opt.interventions) {
    ScriptedOperatorOptions oo;
    ConfigNode node = req.config.Section("operator");
    oo.Load(node);
    op = std::make_unique<ScriptedOperator>(MakeExpert(req.config), oo);
  }

  Shared shared;
  std::atomic<double> recent_success{0.0};
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  const double ratio = opt.learner_steps_per_env_step;
  // The actor may run this many env steps ahead of what the learner has consumed.
  const int64_t max_ahead = 20;

  // ---- actor thread
  std::thread actor([&] {
    try {
      int64_t version = 0;
      uint64_t episode_id = 0;
      auto next_tick = std::chrono::steady_clock::now();
      // Frames are encoded once, here; the learner stores only the features.
      auto encode = [&](Observation* o) {
        if (!backbone) return;
        backbone->Encode(o);
        o->images.clear();
      };
      auto obs = std::make_shared<Observation>(env->Reset(req.seed));
      encode(obs.get());
      if (op) op->StartEpisode(req.seed, 0.0);
      int step = 0;
      EpisodeItem stats;
      while (true) {
        {
          std::unique_lock<std::mutex> l(shared.mu);
          shared.learner_cv.wait(l, [&] {
            if (shared.stop) return true;
            if (!shared.training_started) return true;
            const double consumed = shared.learner_steps.load() / ratio;
            return shared.env_steps.load() - static_cast<int64_t>(consumed) < max_ahead + opt.training_starts;
          });
          if (shared.stop) break;
          if (shared.weights_version != version) {
            actor_agent.LoadWeights(shared.weights, "learner weights");
            version = shared.weights_version;
          }
        }
        const torch::Tensor a = actor_agent.Act(Flatten(layout, *obs), false);
        Action action(a.data_ptr<float>(), a.data_ptr<float>() + a.size(1));
        bool intervened = false;
        if (op) {
          OperatorDecision d = op->Decide(*env, action);
          action = std::move(d.action);
          intervened = d.intervened;
        }
        if (realtime) {
          // A person needs the robot's pace: one step per control period.
          next_tick += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::duration<double>(control_dt));
          std::this_thread::sleep_until(next_tick);
        }
        StepResult r = env->Step(action);
        auto next = std::make_shared<Observation>(std::move(r.observation));
        encode(next.get());
        StepItem item;
        item.episode_id = episode_id;
        item.step = step;
        item.obs = obs;
        item.next_obs = next;
        item.action = action;
        item.reward = static_cast<float>(r.reward);
        item.terminated = r.terminated;
        item.truncated = r.truncated;
        item.grasp_penalty = r.info.count("grasp_penalty") ? static_cast<float>(r.info.at("grasp_penalty")) : 0.f;
        item.intervened = intervened;
        stats.intervened += intervened ? 1 : 0;
        stats.episode_return += r.reward;
        stats.length = step + 1;
        const int64_t done_steps = shared.env_steps.fetch_add(1) + 1;
        const bool last = done_steps >= opt.env_steps;
        {
          std::lock_guard<std::mutex> l(shared.mu);
          shared.steps.push_back(std::move(item));
          if (r.terminated || r.truncated) {
            stats.success = r.info.count("success") && r.info.at("success") > 0.5;
            stats.env_step = done_steps;
            shared.episodes.push_back(stats);
          }
          if (last) shared.actor_done = true;
        }
        shared.data_cv.notify_all();
        if (last) break;
        if (r.terminated || r.truncated) {
          ++episode_id;
          step = 0;
          stats = EpisodeItem();
          obs = std::make_shared<Observation>(env->Reset(req.seed + episode_id));
          encode(obs.get());
          if (op) op->StartEpisode(req.seed + episode_id, recent_success.load());
        } else {
          ++step;
          obs = next;
        }
      }
    } catch (...) {
      shared.Fail(std::current_exception());
    }
  });

  // ---- learner thread
  TrainResult result;
  std::thread learner([&] {
    try {
      Rng rng(req.seed ^ 0x1ea4e5ULL);
      SampleBatch batch;
      batch.Resize(layout, opt.batch_size);
      const int demo_share = static_cast<int>(opt.batch_size * opt.demo_fraction);
      int64_t next_checkpoint = opt.checkpoint_every > 0 ? opt.checkpoint_every : INT64_MAX;
      int64_t inserted = 0;
      auto last_log = std::chrono::steady_clock::now();
      int64_t last_log_steps = 0;
      UpdateInfo info;
      // Learner steps owed for the data inserted so far.
      auto target = [&] { return static_cast<int64_t>(ratio * static_cast<double>(inserted - opt.training_starts + 1)); };
      while (true) {
        std::deque<StepItem> items;
        bool done = false;
        {
          std::unique_lock<std::mutex> l(shared.mu);
          shared.data_cv.wait(l, [&] {
            if (shared.stop || !shared.steps.empty()) return true;
            if (rl_buffer.size() < opt.training_starts) return shared.actor_done;
            return shared.learner_steps.load() < target() || shared.actor_done;
          });
          if (shared.stop) break;
          items.swap(shared.steps);
          done = shared.actor_done && items.empty();
        }
        for (const auto& it : items) {
          StepRecord r{it.episode_id, it.step, it.obs.get(), it.next_obs.get(), it.action, it.reward,
                       it.terminated, it.truncated, it.grasp_penalty, it.intervened};
          rl_buffer.Add(r);
          if (it.intervened) demo_buffer.Add(r);  // corrections are demonstrations too
          ++inserted;
        }
        if (rl_buffer.size() < opt.training_starts) {
          if (done) break;
          continue;
        }
        if (!normalized) {
          set_normalization(rl_buffer);
          normalized = true;
        }
        shared.training_started = true;
        while (shared.learner_steps.load() < target()) {
          // Half demo, half RL once the demo buffer has data (demos or corrections).
          const int demo_rows = demo_buffer.size() > 0 ? demo_share : 0;
          for (int k = 0; k < opt.critic_actor_ratio; ++k) {
            if (demo_rows > 0) demo_buffer.SampleInto(0, demo_rows, rng, &batch);
            rl_buffer.SampleInto(demo_rows, opt.batch_size - demo_rows, rng, &batch);
            TrainBatch b;
            const int64_t n = opt.batch_size, d = layout.proprio_dim(), ad = layout.action_dim;
            const int64_t fd = layout.feature_dim();
            b.obs = torch::from_blob(batch.obs.data(), {n, d}).clone();
            b.next_obs = torch::from_blob(batch.next_obs.data(), {n, d}).clone();
            if (fd > 0) {
              b.obs = torch::cat({b.obs, torch::from_blob(batch.features.data(), {n, fd})}, 1);
              b.next_obs = torch::cat({b.next_obs, torch::from_blob(batch.next_features.data(), {n, fd})}, 1);
            }
            b.actions = torch::from_blob(batch.actions.data(), {n, ad}).clone();
            b.rewards = torch::from_blob(batch.rewards.data(), {n}).clone();
            b.terminated = torch::from_blob(batch.terminated.data(), {n}).clone();
            b.grasp_penalty = torch::from_blob(batch.grasp_penalty.data(), {n}).clone();
            b.demo_rows = demo_rows;
            info = learner_agent.Update(b, k + 1 == opt.critic_actor_ratio);
          }
          const int64_t ls = shared.learner_steps.fetch_add(1) + 1;
          if (ls % opt.weight_sync_every == 0) {
            std::lock_guard<std::mutex> l(shared.mu);
            shared.weights = learner_agent.ActorWeights();
            for (auto& [k, v] : shared.weights) v = v.clone();
            ++shared.weights_version;
          }
          shared.learner_cv.notify_all();
          if (ls % 100 == 0) {
            const auto now = std::chrono::steady_clock::now();
            const double dt = std::chrono::duration<double>(now - last_log).count();
            const double ups = (ls - last_log_steps) * opt.critic_actor_ratio / std::max(dt, 1e-9);
            last_log = now;
            last_log_steps = ls;
            learner_csv << fmt::format("{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.1f}\n", ls,
                                       shared.env_steps.load(), info.critic_loss, info.q_mean, info.q_demo,
                                       info.q_online, info.actor_loss,
                                       info.temperature, info.entropy, info.grasp_loss, ups);
            learner_csv.flush();
            const int64_t step = shared.env_steps.load();
            std::lock_guard<std::mutex> tl(tensorboard_mu);
            for (const auto& [tag, v] : std::initializer_list<std::pair<const char*, double>>{
                     {"learner/critic_loss", info.critic_loss}, {"learner/q_mean", info.q_mean},
                     {"learner/q_demo", info.q_demo}, {"learner/q_online", info.q_online},
                     {"learner/actor_loss", info.actor_loss}, {"learner/temperature", info.temperature},
                     {"learner/entropy", info.entropy}, {"learner/grasp_loss", info.grasp_loss},
                     {"learner/updates_per_s", ups}, {"buffer/rl_transitions", static_cast<double>(rl_buffer.size())},
                     {"buffer/demo_transitions", static_cast<double>(demo_buffer.size())}}) {
              if (std::isfinite(v)) tensorboard.Scalar(tag, step, v);
            }
            tensorboard.Flush();
          }
          if (inserted >= next_checkpoint) {
            WriteCheckpoint((fs::path(req.run_dir) / "checkpoints" / fmt::format("step_{:07d}", inserted)).string(),
                            learner_agent, req.config, inserted, ls, backbone.get());
            next_checkpoint += opt.checkpoint_every;
          }
          {
            std::lock_guard<std::mutex> l(shared.mu);
            if (!shared.steps.empty() || shared.stop) break;  // insert fresh data first
          }
        }
        if (done && shared.learner_steps.load() >= target()) break;
      }
      learner_csv.flush();
    } catch (...) {
      shared.Fail(std::current_exception());
    }
    std::lock_guard<std::mutex> l(shared.mu);
    shared.stop = true;
    shared.learner_cv.notify_all();
  });

  // ---- main thread: progress and episode log
  std::optional<ProgressBar> bar;
  if (req.progress) bar.emplace("train", opt.env_steps);
  std::deque<bool> recent;
  std::deque<double> recent_interventions;
  int episodes = 0;
  while (true) {
    std::deque<EpisodeItem> eps;
    bool finished;
    {
      std::unique_lock<std::mutex> l(shared.mu);
      shared.learner_cv.wait_for(l, std::chrono::milliseconds(200));
      eps.swap(shared.episodes);
      finished = shared.stop;
    }
    for (const auto& e : eps) {
      ++episodes;
      recent.push_back(e.success);
      if (recent.size() > 20) recent.pop_front();
      const double rate = static_cast<double>(e.intervened) / std::max(e.length, 1);
      recent_interventions.push_back(rate);
      if (recent_interventions.size() > 20) recent_interventions.pop_front();
      result.intervened_steps += e.intervened;
      episodes_csv << fmt::format("{},{},{:.4f},{},{},{},{:.4f},{:.2f}\n", episodes, e.env_step, e.episode_return,
                                  e.length, e.success ? 1 : 0, e.intervened, rate, seconds());
      double success20 = 0, interv20 = 0;
      for (bool v : recent) success20 += v;
      for (double v : recent_interventions) interv20 += v;
      success20 /= static_cast<double>(recent.size());
      interv20 /= static_cast<double>(recent_interventions.size());
      if (episodes % 20 == 0) result.history.push_back({episodes, e.env_step, success20, interv20});
      std::lock_guard<std::mutex> tl(tensorboard_mu);
      tensorboard.Scalar("train/success", e.env_step, e.success ? 1.0 : 0.0);
      tensorboard.Scalar("train/success_rate_20", e.env_step, success20);
      tensorboard.Scalar("train/return", e.env_step, e.episode_return);
      tensorboard.Scalar("train/episode_length", e.env_step, e.length);
      tensorboard.Scalar("train/intervention_rate", e.env_step, rate);
      tensorboard.Scalar("train/intervention_rate_20", e.env_step, interv20);
      if (e.success) tensorboard.Scalar("train/cycle_time_s", e.env_step, e.length * control_dt);
      tensorboard.Scalar("train/env_steps_per_s", e.env_step, e.env_step / std::max(seconds(), 1e-9));
    }
    if (!eps.empty()) {
      std::lock_guard<std::mutex> tl(tensorboard_mu);
      tensorboard.Flush();
    }
    if (!eps.empty()) episodes_csv.flush();  // so the run can be watched while it trains
    double rate = 0;
    for (bool s : recent) rate += s;
    if (!recent.empty()) rate /= static_cast<double>(recent.size());
    result.recent_success = rate;
    recent_success = rate;
    double irate = 0;
    for (double v : recent_interventions) irate += v;
    if (!recent_interventions.empty()) irate /= static_cast<double>(recent_interventions.size());
    result.recent_intervention_rate = irate;
    const double t = seconds();
    if (bar) {
      bar->Update(shared.env_steps.load(),
                  fmt::format("ep {} success(20) {:.2f} interv(20) {:.2f} | {:.0f} env steps/s {:.0f} updates/s",
                              episodes, rate, irate,
                              shared.env_steps.load() / std::max(t, 1e-9),
                              shared.learner_steps.load() * opt.critic_actor_ratio / std::max(t, 1e-9)));
    }
    if (finished) break;
  }
  actor.join();
  learner.join();
  if (bar) bar->Finish();
  episodes_csv.flush();
  if (shared.error) std::rethrow_exception(shared.error);

  result.env_steps = shared.env_steps.load();
  result.learner_steps = shared.learner_steps.load();
  result.episodes = episodes;
  result.wall_time_s = seconds();
  result.updates_per_s = result.learner_steps * opt.critic_actor_ratio / std::max(result.wall_time_s, 1e-9);
  result.env_steps_per_s = result.env_steps / std::max(result.wall_time_s, 1e-9);
  result.checkpoint = (fs::path(req.run_dir) / "checkpoints" / "final").string();
  WriteCheckpoint(result.checkpoint, learner_agent, req.config, result.env_steps, result.learner_steps, backbone.get());

  if (opt.eval_episodes > 0) {
    RolloutOptions ro;
    ro.episodes = opt.eval_episodes;
    ro.seed = 1000000 + req.seed;
    ro.progress = req.progress;
    result.eval = Evaluate(*env, learner_agent, ro, backbone.get());
  }
  return result;
}

LoadedPolicy LoadCheckpoint(const std::string& dir, const std::vector<std::string>& overrides) {
  const fs::path root(dir);
  const fs::path config_path = root / "config.yaml";
  const fs::path weights_path = root / "weights.safetensors";
  if (!fs::exists(config_path) || !fs::exists(weights_path)) {
    throw NotFound(fmt::format("'{}' is not a checkpoint directory (expected config.yaml and weights.safetensors)", dir));
  }
  std::ifstream in(config_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LoadedPolicy out{TaskConfig::FromYaml(text, config_path.string()), nullptr, nullptr, nullptr};
  for (const auto& o : overrides) out.config.root.SetFromAssignment(o);
  out.env = MakeEnv(out.config);
  const AgentSetup setup = DescribeAgent(out.config, *out.env);
  out.agent = MakeAgent(setup);
  out.agent->LoadWeights(nn::LoadSafetensors(weights_path.string()), weights_path.string());
  if (setup.encoder.enabled()) {
    const fs::path backbone_path = root / "backbone.safetensors";
    if (!fs::exists(backbone_path)) {
      throw DataLoss(fmt::format("checkpoint '{}' is for image observations but has no backbone.safetensors "
                                 "(the frozen encoder it was trained with)", dir));
    }
    out.backbone = MakeBackbone(setup, backbone_path.string());
  }
  return out;
}

}  // namespace hilserl
