#include "runtime/trainer.h"

#include <atomic>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/paths.h"
#include "core/progress.h"
#include "data/episode_dataset.h"
#include "agents/reward_classifier.h"
#include "data/replay_buffer.h"
#include "data/value_limits.h"
#include "dist/transport.h"
#include "runtime/tensorboard.h"
#include "teleop/human_operator.h"
#include "teleop/scripted_operator.h"
#include "teleop/viewer.h"

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
  if (method != "hil_serl" && method != "bc" && method != "hg_dagger") {
    throw InvalidArgument(fmt::format("train: 'method' must be hil_serl, bc or hg_dagger, got '{}'", method));
  }
  if (bc_steps < 0) throw InvalidArgument("train: 'bc_steps' must be >= 0");
  if (!(max_abs_reward > 0)) throw InvalidArgument("train: 'max_abs_reward' must be > 0");
  if (!(max_abs_observation > 0)) throw InvalidArgument("train: 'max_abs_observation' must be > 0");
  if (max_nonfinite_updates < 1) throw InvalidArgument("train: 'max_nonfinite_updates' must be >= 1");
}

void TrainOptions::Load(ConfigNode& node) {
  int env = static_cast<int>(env_steps), starts = static_cast<int>(training_starts);
  int cap = static_cast<int>(replay_capacity), dcap = static_cast<int>(demo_capacity);
  int ckpt = static_cast<int>(checkpoint_every);
  node.Get("method", &method);
  node.Get("bc_steps", &bc_steps);
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
  node.Get("max_abs_reward", &max_abs_reward);
  node.Get("max_abs_observation", &max_abs_observation);
  node.Get("max_nonfinite_updates", &max_nonfinite_updates);
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
  // Gripper components ("gripper", "<arm>_gripper") must be the trailing ones: the grasp
  // critic chooses them, the policy the rest.
  auto is_gripper = [&](int i) {
    return i < static_cast<int>(actions.labels.size()) && IsGripperLabel(actions.labels[i]);
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
    std::string weights, type = "resnet10";
    int seed = 0;
    enc.Get("type", &type);
    enc.Get("weights", &weights);
    enc.Get("seed", &seed);
    int spatial = static_cast<int>(s.encoder.spatial_features), bottleneck = static_cast<int>(s.encoder.bottleneck);
    int latent = static_cast<int>(s.encoder.proprio_latent);
    int conv_size = 64, conv_channels = static_cast<int>(s.encoder.conv_channels);
    int shift_pad = static_cast<int>(s.encoder.shift_pad);
    enc.Get("spatial_features", &spatial);
    enc.Get("bottleneck", &bottleneck);
    enc.Get("proprio_latent", &latent);
    enc.Get("conv_size", &conv_size);
    enc.Get("conv_channels", &conv_channels);
    enc.Get("shift_pad", &shift_pad);
    s.encoder.spatial_features = spatial;
    s.encoder.bottleneck = bottleneck;
    s.encoder.proprio_latent = latent;
    s.encoder.conv_channels = conv_channels;
    s.encoder.shift_pad = shift_pad;
    enc.Get("dropout", &s.encoder.dropout);
    enc.CheckNoUnknownKeys();
    if (type != "resnet10" && type != "conv") {
      throw InvalidArgument(fmt::format("encoder: 'type' must be resnet10 (frozen ResNet-10, cached features) or conv "
                                        "(small conv net trained end to end, DrQ), got '{}'", type));
    }
    if (s.encoder.spatial_features < 1 || s.encoder.bottleneck < 1 || s.encoder.proprio_latent < 1 ||
        !(s.encoder.dropout >= 0 && s.encoder.dropout < 1) || conv_channels < 1 || shift_pad < 0) {
      throw InvalidArgument("encoder: 'spatial_features', 'bottleneck', 'proprio_latent' and 'conv_channels' must be "
                            ">= 1, 'shift_pad' >= 0, 'dropout' in [0, 1)");
    }
    if (type == "conv" && !weights.empty()) {
      throw InvalidArgument("encoder: 'weights' is for the frozen ResNet-10; the conv encoder (type conv) learns its own");
    }
    s.backbone_weights = weights.empty() ? "" : ResolvePath(weights);
    s.backbone_seed = static_cast<uint64_t>(seed);
    const int size = spec.images.front().height;
    std::vector<FeatureSpec> features;
    for (const auto& img : spec.images) {
      if (img.height != size || img.width != size || img.channels != 3 || (type == "resnet10" && size % 32 != 0)) {
        throw InvalidArgument(fmt::format("encoder: camera '{}' gives {}x{}x{} images; the encoder needs square RGB "
                                          "images of one size{} (e.g. 128x128x3)", img.name, img.height, img.width,
                                          img.channels, type == "resnet10" ? ", a multiple of 32" : ""));
      }
      s.encoder.cameras.push_back(img.name);
    }
    if (type == "conv") {
      if (conv_size < 16 || conv_size > size) {
        throw InvalidArgument(fmt::format("encoder: 'conv_size' must be in [16, {}] (the image size), got {}", size,
                                          conv_size));
      }
      s.encoder.head = "conv";
      s.encoder.channels = 3;
      s.encoder.height = s.encoder.width = conv_size;
    } else {
      s.encoder.channels = 512;
      s.encoder.height = s.encoder.width = size / 32;
    }
    s.image_size = size;
    for (const auto& cam : s.encoder.cameras) features.push_back({cam, static_cast<int>(s.encoder.camera_feature_size())});
    s.layout = ReplayLayout::WithFeatures(spec, static_cast<int>(s.action_dim), features);
    s.encoder.proprio_dim = s.layout.proprio_dim();
  }
  s.obs_dim = s.layout.proprio_dim() + s.layout.feature_dim();
  return s;
}

std::unique_ptr<Env> WithRewardClassifier(const TaskConfig& config, std::unique_ptr<Env> env,
                                          RewardClassifierWrapper** wrapper) {
  ConfigNode node = config.Section("reward_classifier");
  std::string model, key;
  double threshold = 0.75, lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  int index = 0;
  node.Get("model", &model);
  node.Get("threshold", &threshold);
  node.Get("condition_key", &key);
  node.Get("condition_index", &index);
  node.Get("condition_min", &lo);
  node.Get("condition_max", &hi);
  node.CheckNoUnknownKeys();
  if (model.empty()) return env;
  std::shared_ptr<RewardClassifier> clf = RewardClassifier::Load(ResolvePath(model));
  std::vector<StateCondition> conditions;
  if (!key.empty()) conditions.push_back({key, index, lo, hi});
  spdlog::info("reward from the classifier in {} (cameras {}, threshold {})", model, fmt::join(clf->cameras(), ", "),
               threshold);
  auto w = std::make_unique<RewardClassifierWrapper>(
      std::move(env), [clf](const Observation& o) { return clf->Probability(o); }, clf->cameras(),
      clf->image_size(), threshold, conditions);
  if (wrapper) *wrapper = w.get();
  return w;
}

std::string NetworkSignature(const AgentSetup& setup, const nn::FrozenBackbone* backbone) {
  const SacOptions& o = setup.options;
  const nn::EncoderSpec& e = setup.encoder;
  std::string sig = fmt::format("obs {} action {} hidden [{}] critics {}/{} grippers {}", setup.obs_dim,
                                setup.action_dim, fmt::join(o.hidden, ","), o.critic_ensemble, o.critic_subsample,
                                o.grippers);
  if (e.enabled()) {
    sig += fmt::format(" encoder {} cameras [{}] {}x{}x{} spatial {} bottleneck {} proprio {}", e.head,
                       fmt::join(e.cameras, ","), e.channels, e.height, e.width, e.spatial_features, e.bottleneck,
                       e.proprio_latent);
  }
  if (backbone && !backbone->is_pixel_stem()) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the frozen weights
    for (const auto& [name, t] : backbone->Weights()) {
      const torch::Tensor c = t.contiguous();
      const auto* p = static_cast<const unsigned char*>(c.data_ptr());
      for (size_t i = 0; i < static_cast<size_t>(c.nbytes()); ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    sig += fmt::format(" backbone {:016x}", h);
  }
  return sig;
}

std::unique_ptr<SacAgent> MakeAgent(const AgentSetup& setup) {
  return std::make_unique<SacAgent>(setup.obs_dim, setup.action_dim, setup.options, torch::kCPU, setup.encoder);
}

std::unique_ptr<nn::FrozenBackbone> MakeBackbone(const AgentSetup& setup, const std::string& weights_override) {
  if (!setup.encoder.enabled()) return nullptr;
  if (setup.encoder.head == "conv") {
    return nn::FrozenBackbone::Pixels(setup.encoder.cameras, setup.image_size, static_cast<int>(setup.encoder.height));
  }
  const std::string weights = weights_override.empty() ? setup.backbone_weights : weights_override;
  return std::make_unique<nn::FrozenBackbone>(setup.encoder.cameras, setup.image_size, weights, setup.backbone_seed);
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

std::function<torch::Tensor(const Observation&)> AgentInputFn(const Env& env, SacAgent& agent,
                                                             nn::FrozenBackbone* backbone) {
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
  return [layout, backbone](const Observation& obs) {
    if (!backbone) return Flatten(layout, obs);
    Observation encoded = obs;
    backbone->Encode(&encoded);
    return Flatten(layout, encoded);
  };
}

PolicyFn AgentPolicy(const Env& env, SacAgent& agent, nn::FrozenBackbone* backbone) {
  auto input = AgentInputFn(env, agent, backbone);
  return [input, &agent](Env&, const Observation& obs) {
    const torch::Tensor a = agent.Act(input(obs), true);
    return Action(a.data_ptr<float>(), a.data_ptr<float>() + a.size(1));
  };
}

RolloutSummary Evaluate(Env& env, SacAgent& agent, const RolloutOptions& options, nn::FrozenBackbone* backbone) {
  return RunRollouts(env, AgentPolicy(env, agent, backbone), options);
}

// ---------------------------------------------------------------- checkpoints

namespace {

// Throws DataLoss naming the tensor if a weight is not finite (`what`: for the message).
void CheckFiniteWeights(const nn::TensorMap& weights, const std::string& what) {
  for (const auto& [name, t] : weights) {
    if (!torch::isfinite(t).all().item<bool>()) {
      throw DataLoss(fmt::format("weight '{}' is not finite: {}", name, what));
    }
  }
}

// Refuses non-finite weights (DataLoss): a checkpoint on disk always holds good ones.
void WriteCheckpointFiles(const fs::path& dir, SacAgent& agent, const TaskConfig& config, int64_t env_steps,
                          int64_t learner_steps, const nn::FrozenBackbone* backbone) {
  const nn::TensorMap weights = agent.Weights();
  CheckFiniteWeights(weights, fmt::format("the checkpoint at learner step {} was not written (the previous one is "
                                          "kept)", learner_steps));
  nn::SaveSafetensors((dir / "weights.safetensors").string(), weights,
                      {{"format", "hilserl-sac"}, {"task", config.task}});
  agent.SaveOptimizers((dir / "optimizers.pt").string());
  if (backbone && !backbone->is_pixel_stem()) {
    nn::SaveSafetensors((dir / "backbone.safetensors").string(), backbone->Weights(),
                        {{"format", "resnet10"}, {"source", backbone->source()}});
  }
  std::ofstream((dir / "config.yaml").string()) << config.root.ToYaml() << "\n";
  nlohmann::json meta = {{"env_steps", env_steps}, {"learner_steps", learner_steps}, {"task", config.task},
                         {"obs_dim", agent.obs_dim()}, {"action_dim", agent.env_action_dim()}};
  std::ofstream((dir / "meta.json").string()) << meta.dump(2) << "\n";
}

// Fills `final_dir` through `fill(tmp)` and swaps it in: a reader (or a resumed run) sees
// the old or the new directory, never half of one. If the process dies between the two
// renames, `<final_dir>.old` is the complete previous version.
// checksums.json of a checkpoint: size and CRC-32C of every file in it except the replay
// files, which carry their own checksum (and can be too large to read twice).
constexpr const char* kChecksumFile = "checksums.json";

bool CarriesOwnChecksum(const fs::path& p) { return p.extension() == ".bin"; }

uint32_t FileCrc(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return Crc32c(bytes.data(), bytes.size());
}

void WriteChecksums(const fs::path& dir) {
  nlohmann::json files = nlohmann::json::object();
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || CarriesOwnChecksum(e.path()) || e.path().filename() == kChecksumFile) continue;
    files[e.path().filename().string()] = {{"bytes", fs::file_size(e.path())}, {"crc32c", FileCrc(e.path())}};
  }
  std::ofstream((dir / kChecksumFile).string()) << nlohmann::json{{"files", files}}.dump(2) << "\n";
}

template <typename Fill>
void ReplaceDirAtomically(const fs::path& final_dir, Fill fill) {
  const fs::path tmp = final_dir.string() + ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  fill(tmp);
  WriteChecksums(tmp);
  const fs::path old = final_dir.string() + ".old";
  if (fs::exists(final_dir)) {
    fs::remove_all(old);
    fs::rename(final_dir, old);
  }
  fs::rename(tmp, final_dir);
  fs::remove_all(old);
}

// What a run killed while writing a checkpoint leaves behind (ReplaceDirAtomically): an
// `X.tmp` is incomplete and removed; an `X.old` is the previous complete checkpoint, kept as
// X when X itself is missing (killed between the two renames) and removed otherwise.
void TidyCheckpointDirs(const fs::path& checkpoints) {
  if (!fs::is_directory(checkpoints)) return;
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(checkpoints)) entries.push_back(e.path());
  for (const fs::path& p : entries) {
    const std::string name = p.filename().string();
    if (name.ends_with(".tmp")) {
      spdlog::warn("removing '{}': a checkpoint that was never completed", p.string());
      fs::remove_all(p);
    } else if (name.ends_with(".old")) {
      const fs::path complete = checkpoints / name.substr(0, name.size() - 4);
      if (fs::exists(complete)) {
        fs::remove_all(p);
      } else {
        spdlog::warn("restoring '{}' from '{}' (the run stopped while replacing it)", complete.string(), p.string());
        fs::rename(p, complete);
      }
    }
  }
}

void WriteCheckpoint(const std::string& dir, SacAgent& agent, const TaskConfig& config, int64_t env_steps,
                     int64_t learner_steps, const nn::FrozenBackbone* backbone) {
  ReplaceDirAtomically(dir, [&](const fs::path& tmp) {
    WriteCheckpointFiles(tmp, agent, config, env_steps, learner_steps, backbone);
  });
}

// An episode the policy won (nearly) by itself: at most `max_corrected` of its steps
// corrected. The simulated operator steps in less as these become common, as a person
// would once the robot has shown it can do the task alone.
bool SucceededOnItsOwn(bool success, int length, int intervened, double max_corrected) {
  return success && intervened <= max_corrected * length;
}

// The operator's `trust_max_corrected` (the default when the task has no operator section).
double TrustMaxCorrected(TaskConfig& config) {
  ScriptedOperatorOptions oo;
  ConfigNode node = config.Section("operator");
  oo.Load(node);
  return oo.trust_max_corrected;
}

// Episode statistics as the learner has inserted them (for resumption) or as the main
// thread has seen them (for the progress bar and history).
struct EpisodeLedger {
  int episodes = 0;
  int64_t intervened_steps = 0;
  std::deque<bool> recent;              // success of the last 20 episodes
  std::deque<bool> recent_own;          // SucceededOnItsOwn of the last 20 episodes
  double trust_max_corrected = 0.1;     // the operator's setting (not saved: it comes from the config)
  std::deque<double> recent_interventions;
  std::vector<HistoryPoint> history;

  void Add(bool success, int length, int intervened, int64_t env_step) {
    ++episodes;
    intervened_steps += intervened;
    recent.push_back(success);
    if (recent.size() > 20) recent.pop_front();
    recent_own.push_back(SucceededOnItsOwn(success, length, intervened, trust_max_corrected));
    if (recent_own.size() > 20) recent_own.pop_front();
    recent_interventions.push_back(static_cast<double>(intervened) / std::max(length, 1));
    if (recent_interventions.size() > 20) recent_interventions.pop_front();
    if (episodes % 20 == 0) history.push_back({episodes, env_step, success_rate(), intervention_rate()});
  }
  double success_rate() const {
    double v = 0;
    for (bool b : recent) v += b;
    return recent.empty() ? 0.0 : v / static_cast<double>(recent.size());
  }
  // Over the last 20 episodes, the ones not yet played counting as failures.
  double own_success_rate() const {
    double v = 0;
    for (bool b : recent_own) v += b;
    return v / 20.0;
  }
  double intervention_rate() const {
    double v = 0;
    for (double r : recent_interventions) v += r;
    return recent_interventions.empty() ? 0.0 : v / static_cast<double>(recent_interventions.size());
  }
  nlohmann::json ToJson() const {
    nlohmann::json h = nlohmann::json::array();
    for (const auto& p : history) h.push_back({p.episode, p.env_step, p.success_rate, p.intervention_rate});
    return {{"episodes", episodes}, {"intervened_steps", intervened_steps},
            {"recent_success", std::vector<bool>(recent.begin(), recent.end())},
            {"recent_own_success", std::vector<bool>(recent_own.begin(), recent_own.end())},
            {"recent_interventions", std::vector<double>(recent_interventions.begin(), recent_interventions.end())},
            {"history", h}};
  }
  static EpisodeLedger FromJson(const nlohmann::json& j) {
    EpisodeLedger l;
    l.episodes = j.at("episodes").get<int>();
    l.intervened_steps = j.at("intervened_steps").get<int64_t>();
    for (bool b : j.at("recent_success")) l.recent.push_back(b);
    for (bool b : j.at("recent_own_success")) l.recent_own.push_back(b);
    for (double r : j.at("recent_interventions")) l.recent_interventions.push_back(r);
    for (const auto& p : j.at("history")) {
      l.history.push_back({p.at(0).get<int>(), p.at(1).get<int64_t>(), p.at(2).get<double>(), p.at(3).get<double>()});
    }
    return l;
  }
};

// What a resumed run continues from (state.json of the resume checkpoint).
struct ResumeState {
  int64_t env_steps = 0;        // transitions inserted into the RL buffer
  int64_t learner_steps = 0;
  uint64_t next_episode_id = 0;
  bool normalized = false;
  EpisodeLedger ledger;
  std::map<uint64_t, uint64_t> actor_sequences;  // remote actors: last batch in the buffers
};

void WriteResumeCheckpoint(const fs::path& dir, SacAgent& agent, const TaskConfig& config,
                           const nn::FrozenBackbone* backbone, const ReplayBuffer& rl, const ReplayBuffer& demo,
                           const ResumeState& state) {
  ReplaceDirAtomically(dir, [&](const fs::path& tmp) {
    WriteCheckpointFiles(tmp, agent, config, state.env_steps, state.learner_steps, backbone);
    rl.Save((tmp / "replay_rl.bin").string());
    demo.Save((tmp / "replay_demo.bin").string());
    nlohmann::json j = {{"env_steps", state.env_steps}, {"learner_steps", state.learner_steps},
                              {"next_episode_id", state.next_episode_id}, {"normalized", state.normalized},
                              {"episodes", state.ledger.ToJson()}};
    nlohmann::json seqs = nlohmann::json::object();
    for (const auto& [id, seq] : state.actor_sequences) seqs[fmt::format("{:x}", id)] = seq;
    j["actor_sequences"] = seqs;
    std::ofstream((tmp / "state.json").string()) << j.dump(2) << "\n";
  });
}

ResumeState ReadResumeState(const fs::path& dir) {
  const fs::path path = dir / "state.json";
  std::ifstream in(path);
  if (!in) throw NotFound(fmt::format("resume checkpoint '{}' has no state.json", dir.string()));
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    ResumeState s;
    s.env_steps = j.at("env_steps").get<int64_t>();
    s.learner_steps = j.at("learner_steps").get<int64_t>();
    s.next_episode_id = j.at("next_episode_id").get<uint64_t>();
    s.normalized = j.at("normalized").get<bool>();
    s.ledger = EpisodeLedger::FromJson(j.at("episodes"));
    if (j.contains("actor_sequences")) {
      for (const auto& [id, seq] : j.at("actor_sequences").items()) {
        s.actor_sequences[std::stoull(id, nullptr, 16)] = seq.get<uint64_t>();
      }
    }
    if (s.env_steps < 0 || s.learner_steps < 0) throw DataLoss("negative counters");
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw DataLoss(fmt::format("'{}' is malformed: {}", path.string(), e.what()));
  }
}

// Keeps the header and the first `rows` data rows of a CSV metrics file (rows written
// after the checkpoint a run resumes from describe steps that were lost).
void TruncateCsv(const fs::path& path, int64_t rows) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  for (int64_t i = 0; i <= rows && std::getline(in, line); ++i) kept += line + "\n";
  in.close();
  const fs::path tmp = path.string() + ".tmp";
  std::ofstream(tmp, std::ios::trunc) << kept;
  fs::rename(tmp, path);
}

}  // namespace

void VerifyCheckpoint(const std::string& dir) {
  const fs::path root(dir), sums = root / kChecksumFile;
  if (!fs::exists(sums)) return;  // written before checkpoints had checksums
  nlohmann::json j;
  try {
    std::ifstream in(sums);
    j = nlohmann::json::parse(in);
    for (const auto& [name, entry] : j.at("files").items()) {
      const fs::path p = root / name;
      if (fs::path(name).filename().string() != name) throw DataLoss("a file name with a path");
      if (!fs::exists(p)) {
        throw DataLoss(fmt::format("checkpoint '{}' is missing '{}' (listed in {})", dir, name, kChecksumFile));
      }
      const uint64_t bytes = entry.at("bytes").get<uint64_t>();
      if (fs::file_size(p) != bytes) {
        throw DataLoss(fmt::format("checkpoint file '{}' has {} bytes, {} when it was written (truncated or "
                                   "changed)", p.string(), fs::file_size(p), bytes));
      }
      if (FileCrc(p) != entry.at("crc32c").get<uint32_t>()) {
        throw DataLoss(fmt::format("checkpoint file '{}' is corrupt (checksum mismatch)", p.string()));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw DataLoss(fmt::format("'{}' is malformed: {}", sums.string(), e.what()));
  }
}

std::string ResumeCheckpointDir(const std::string& run_dir) {
  const fs::path dir = fs::path(run_dir) / "checkpoints" / "resume";
  if (fs::exists(dir / "state.json")) return dir.string();
  const fs::path old = dir.string() + ".old";
  if (fs::exists(old / "state.json")) return old.string();
  throw NotFound(fmt::format("'{}' has no resume checkpoint ({}): was it written by `hilserl train` and did the run "
                             "reach its first checkpoint (train.checkpoint_every)?", run_dir, dir.string()));
}

TaskConfig ResumeConfig(const std::string& run_dir, const std::vector<std::string>& overrides) {
  const std::string dir = ResumeCheckpointDir(run_dir);
  VerifyCheckpoint(dir);
  const fs::path path = fs::path(dir) / "config.yaml";
  std::ifstream in(path);
  if (!in) throw NotFound(fmt::format("resume checkpoint has no config: '{}'", path.string()));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  TaskConfig config = TaskConfig::FromYaml(text, path.string());
  for (const auto& o : overrides) config.root.SetFromAssignment(o);
  return config;
}

namespace {

// ---------------------------------------------------------------- actor -> learner queue

// One step on its way to the learner: a transport transition plus, for remote actors,
// the batch it came in and whether it is the batch's last step.
struct StepItem : dist::Transition {
  uint64_t actor_id = 0, batch_seq = 0;
  bool batch_end = false;
};

// Weights as the transport carries them (float arrays), and back.
dist::WeightsSnapshot ToSnapshot(const nn::TensorMap& weights, int64_t version) {
  dist::WeightsSnapshot out{version, {}};
  for (const auto& [name, t] : weights) {
    const torch::Tensor c = t.detach().to(torch::kFloat).contiguous();
    dist::NamedArray a{name, c.sizes().vec(), {}};
    a.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    out.arrays.push_back(std::move(a));
  }
  return out;
}

nn::TensorMap FromSnapshot(const dist::WeightsSnapshot& w) {
  nn::TensorMap out;
  for (const auto& a : w.arrays) {
    out[a.name] = torch::from_blob(const_cast<float*>(a.values.data()), a.shape, torch::kFloat).clone();
  }
  return out;
}

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
  bool checkpoint_requested = false;  // a remote actor waits for durability
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

// The actor's side of one process or of `hilserl actor`: acts with the agent (frames
// encoded once by the backbone), lets the operator correct, steps the env and hands every
// step to `emit` (with the episode's statistics on its last step).
struct ActorHooks {
  std::function<bool()> before_step;                       // false = stop (may block, refresh weights)
  std::function<bool(StepItem&&, EpisodeItem*)> emit;      // false = stop after this step
  std::function<double()> recent_success;                  // for the operator: successes on the policy's own
};

void ActorLoop(Env& env, SacAgent& agent, const ReplayLayout& layout, nn::FrozenBackbone* backbone, Operator* op,
               uint64_t seed, uint64_t first_episode, bool realtime, const ActorHooks& hooks,
               bool deterministic = false) {
  uint64_t episode_id = first_episode;
  auto next_tick = std::chrono::steady_clock::now();
  // Frames are encoded once, here; the learner stores only the features.
  auto encode = [&](Observation* o) {
    if (!backbone) return;
    backbone->Encode(o);
    o->images.clear();
  };
  auto start_episode = [&] {
    auto o = std::make_shared<Observation>(env.Reset(seed + episode_id));
    encode(o.get());
    if (op) op->StartEpisode(seed + episode_id, hooks.recent_success());
    return o;
  };
  std::shared_ptr<Observation> obs = start_episode();
  int step = 0;
  EpisodeItem stats;
  while (hooks.before_step()) {
    const torch::Tensor a = agent.Act(Flatten(layout, *obs), deterministic);
    Action action(a.data_ptr<float>(), a.data_ptr<float>() + a.size(1));
    bool intervened = false;
    if (op) {
      OperatorDecision d = op->Decide(env, action);
      action = std::move(d.action);
      intervened = d.intervened;
    }
    if (realtime) {
      // A person needs the robot's pace: one step per control period.
      next_tick += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(env.control_dt()));
      std::this_thread::sleep_until(next_tick);
    }
    StepResult r = env.Step(action);
    // What the env executed (it clips to the action space): the learner refuses actions
    // outside it.
    action = env.action_space().Clip(action);
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
    const bool ends = r.terminated || r.truncated;
    if (ends) item.success = stats.success = r.info.count("success") && r.info.at("success") > 0.5;
    if (!hooks.emit(std::move(item), ends ? &stats : nullptr)) break;
    if (ends) {
      ++episode_id;
      step = 0;
      stats = EpisodeItem();
      obs = start_episode();
    } else {
      ++step;
      obs = next;
    }
  }
}

// A training batch viewing `batch`'s arrays (rows [proprio | features], no copy of the
// observations): use it before the next SampleInto overwrites them.
TrainBatch ToTrainBatch(SampleBatch& batch, const ReplayLayout& layout, int demo_rows) {
  TrainBatch b;
  const int64_t n = batch.size, w = batch.obs_width, ad = layout.action_dim;
  b.obs = torch::from_blob(batch.obs.data(), {n, w});
  b.next_obs = torch::from_blob(batch.next_obs.data(), {n, w});
  b.actions = torch::from_blob(batch.actions.data(), {n, ad}).clone();
  b.rewards = torch::from_blob(batch.rewards.data(), {n}).clone();
  b.terminated = torch::from_blob(batch.terminated.data(), {n}).clone();
  b.grasp_penalty = torch::from_blob(batch.grasp_penalty.data(), {n}).clone();
  b.demo_rows = demo_rows;
  return b;
}

// Behaviour cloning on `demos` for `steps` updates (the BC baseline, and HG-DAgger's
// pretraining); logs the loss every 500 steps.
// Counts updates skipped for a non-finite loss or gradient; throws once
// train.max_nonfinite_updates follow each other.
struct NonFiniteGuard {
  int limit = 10;
  int in_row = 0;
  int64_t total = 0;

  void Count(const UpdateInfo& info, int64_t learner_step) {
    if (!info.skipped) {
      in_row = 0;
      return;
    }
    ++total;
    if (++in_row == 1 || total % 100 == 0) {
      spdlog::warn("learner step {}: an update was skipped for a non-finite loss or gradient (critic loss {}, actor "
                   "loss {}); {} skipped so far", learner_step, info.critic_loss, info.actor_loss, total);
    }
    if (in_row >= limit) {
      throw DataLoss(fmt::format("the learner stopped at learner step {}: {} updates in a row had a non-finite loss "
                                 "or gradient (critic loss {}, actor loss {}); the weights are the last good ones (in "
                                 "the final checkpoint). Look for absurd values in the data (train.max_abs_reward, "
                                 "train.max_abs_observation) or lower the learning rates; train.max_nonfinite_updates "
                                 "sets the limit", learner_step, in_row, info.critic_loss, info.actor_loss));
    }
  }
};

void PretrainBc(SacAgent& agent, const ReplayBuffer& demos, const ReplayLayout& layout, const TrainOptions& opt,
                uint64_t seed, bool progress) {
  if (demos.size() == 0) {
    throw InvalidArgument(fmt::format("train.method '{}' learns from demonstrations: pass --demos", opt.method));
  }
  Rng rng(seed ^ 0xbcbcbcULL);
  SampleBatch batch;
  batch.Resize(layout, opt.batch_size, /*pack_features=*/true);
  std::optional<ProgressBar> bar;
  if (progress) bar.emplace("bc", opt.bc_steps);
  UpdateInfo info;
  NonFiniteGuard guard{opt.max_nonfinite_updates};
  for (int i = 0; i < opt.bc_steps; ++i) {
    demos.SampleInto(0, opt.batch_size, rng, &batch);
    info = agent.BcUpdate(ToTrainBatch(batch, layout, opt.batch_size));
    guard.Count(info, i + 1);
    if (bar && (i + 1) % 50 == 0) bar->Update(i + 1, fmt::format("nll {:.3f} grasp {:.3f}", info.actor_loss, info.grasp_loss));
    if ((i + 1) % 500 == 0 && !bar) spdlog::info("bc step {}: nll {:.3f}, grasp loss {:.3f}", i + 1, info.actor_loss, info.grasp_loss);
  }
  if (bar) bar->Finish();
}

// The operator a run uses: a person with a teleop device, the scripted operator
// (train.interventions) or none.
std::unique_ptr<Operator> MakeOperator(TaskConfig& config, const TrainOptions& opt, const std::string& device) {
  if (!device.empty()) {
    auto op = std::make_unique<HumanOperator>(OpenTeleopDevice(device));
    spdlog::info("teleop device '{}' ready: move it to take over from the policy", device);
    return op;
  }
  if (!opt.interventions) return nullptr;
  ScriptedOperatorOptions oo;
  ConfigNode node = config.Section("operator");
  oo.Load(node);
  return std::make_unique<ScriptedOperator>(MakeExpert(config), oo);
}

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

  RewardClassifierWrapper* classifier = nullptr;
  std::unique_ptr<Env> env = WithRewardClassifier(req.config, MakeEnv(req.config), &classifier);
  const AgentSetup setup = DescribeAgent(req.config, *env);
  const ReplayLayout layout = setup.layout;
  std::unique_ptr<nn::FrozenBackbone> backbone = MakeBackbone(setup);
  if (backbone) spdlog::info("image encoder for cameras {}: {}", fmt::join(setup.encoder.cameras, ", "), backbone->source());
  SacAgent learner_agent(setup.obs_dim, setup.action_dim, setup.options, torch::kCPU, setup.encoder);
  SacAgent actor_agent(setup.obs_dim, setup.action_dim, setup.options, torch::kCPU, setup.encoder);
  actor_agent.LoadWeights(learner_agent.ActorWeights(), "initial weights");

  // What the learner accepts at its doors (demo files, remote actors).
  ValueLimits limits;
  limits.max_abs_reward = opt.max_abs_reward;
  limits.max_abs_observation = opt.max_abs_observation;
  limits.actions = env->action_space();
  ReplayBuffer rl_buffer(opt.replay_capacity, layout);
  ReplayBuffer demo_buffer(opt.demo_capacity, layout);
  int demo_episodes = 0;
  TidyCheckpointDirs(fs::path(req.run_dir) / "checkpoints");
  ResumeState resumed;
  if (req.resume) {
    const fs::path dir = ResumeCheckpointDir(req.run_dir);
    VerifyCheckpoint(dir.string());
    resumed = ReadResumeState(dir);
    if (resumed.env_steps >= opt.env_steps) {
      throw InvalidArgument(fmt::format("the run in '{}' already has {} env steps; to continue it, ask for more "
                                        "(--steps N with N > {})", req.run_dir, resumed.env_steps, resumed.env_steps));
    }
    const std::string weights = (dir / "weights.safetensors").string();
    learner_agent.LoadWeights(nn::LoadSafetensors(weights), weights);
    learner_agent.LoadOptimizers((dir / "optimizers.pt").string());
    rl_buffer.Load((dir / "replay_rl.bin").string());
    demo_buffer.Load((dir / "replay_demo.bin").string());
    actor_agent.LoadWeights(learner_agent.ActorWeights(), "resumed weights");
    spdlog::info("resuming from {}: {} env steps, {} learner steps, {} episodes; buffers {} RL + {} demo transitions",
                 dir.string(), resumed.env_steps, resumed.learner_steps, resumed.ledger.episodes, rl_buffer.size(),
                 demo_buffer.size());
  } else if (!req.demos.empty()) {
    auto episodes = ReadEpisodes(req.demos);
    CheckEpisodesMatch(episodes, env->observation_spec(), static_cast<int>(setup.action_dim), req.demos);
    CheckEpisodeValues(episodes, limits, req.demos);
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
  resumed.ledger.trust_max_corrected = TrustMaxCorrected(req.config);  // a setting, not saved state

  // Observation statistics: from the demos when there are any, else from the first
  // training_starts steps (set by the learner before its first update).
  auto set_normalization = [&](const ReplayBuffer& source) {
    std::vector<double> mean, stddev;
    source.ProprioStats(&mean, &stddev);
    learner_agent.SetObsNormalization(mean, stddev);
  };
  bool normalized = !opt.normalize_observations || (req.resume && resumed.normalized);
  if (!normalized && demo_buffer.size() > 0) {
    set_normalization(demo_buffer);
    actor_agent.LoadWeights(learner_agent.ActorWeights(), "initial weights");
    normalized = true;
  }

  if (opt.method != "hil_serl" && !req.resume) {
    try {
      PretrainBc(learner_agent, demo_buffer, layout, opt, req.seed, req.progress);
    } catch (const DataLoss&) {
      // Too many non-finite updates: keep the last good weights before reporting it.
      WriteCheckpoint((fs::path(req.run_dir) / "checkpoints" / "final").string(), learner_agent, req.config, 0, 0,
                      backbone.get());
      throw;
    }
    actor_agent.LoadWeights(learner_agent.ActorWeights(), "behaviour-cloned weights");
    if (opt.method == "bc") {
      // No interaction: the demos are all BC ever sees.
      TrainResult result;
      result.learner_steps = opt.bc_steps;
      result.checkpoint = (fs::path(req.run_dir) / "checkpoints" / "final").string();
      WriteCheckpoint(result.checkpoint, learner_agent, req.config, 0, opt.bc_steps, backbone.get());
      if (opt.eval_episodes > 0) {
        RolloutOptions ro;
        ro.episodes = opt.eval_episodes;
        ro.seed = 1000000 + req.seed;
        ro.progress = req.progress;
        result.eval = Evaluate(*env, learner_agent, ro, backbone.get());
      }
      return result;
    }
  }

  fs::create_directories(req.run_dir);
  const fs::path episodes_path = fs::path(req.run_dir) / "episodes.csv", learner_path = fs::path(req.run_dir) / "learner.csv";
  if (req.resume) {
    // Rows after the checkpoint describe steps that are not in the buffers: drop them.
    TruncateCsv(episodes_path, resumed.ledger.episodes);
    TruncateCsv(learner_path, resumed.learner_steps / 100);
  }
  std::ofstream episodes_csv(episodes_path, req.resume ? std::ios::app : std::ios::trunc);
  std::ofstream learner_csv(learner_path, req.resume ? std::ios::app : std::ios::trunc);
  if (!req.resume) {
    episodes_csv << "episode,env_step,return,length,success,intervened_steps,intervention_rate,wall_s\n";
    learner_csv << "learner_step,env_step,critic_loss,q_mean,q_demo,q_online,actor_loss,temperature,entropy,"
                   "grasp_loss,updates_per_s\n";
  }
  // TensorBoard scalars (`tensorboard --logdir <run dir>`), shared by the learner and main threads.
  TensorBoardWriter tensorboard(req.run_dir);
  std::mutex tensorboard_mu;
  const double control_dt = env->control_dt();

  const bool realtime = !req.teleop_device.empty();
  // Remote actors bring their own operators.
  std::unique_ptr<Operator> op = req.listen.empty() ? MakeOperator(req.config, opt, req.teleop_device) : nullptr;
  // A person teleoperating a simulated task needs to see it.
  std::unique_ptr<SimViewer> viewer = realtime && req.listen.empty() ? OpenViewerIfPossible(*env) : nullptr;

  Shared shared;
  shared.env_steps = resumed.env_steps;
  shared.learner_steps = resumed.learner_steps;
  std::unique_ptr<dist::LearnerServer> server;
  if (!req.listen.empty()) {
    dist::LearnerServerOptions so;
    so.address = req.listen;
    so.token = req.token;
    so.tls_cert = req.tls_cert;
    so.tls_key = req.tls_key;
    so.layout = layout;
    so.limits = limits;
    so.identity = {req.config.task, layout.Describe(), NetworkSignature(setup, backbone.get())};
    // Remote actors may run this far ahead of the learner's updates before they are paced.
    const int64_t remote_ahead = 256;
    so.accepting = [&shared, &opt, remote_ahead] {
      if (!shared.training_started) return true;
      const double consumed = shared.learner_steps.load() / opt.learner_steps_per_env_step;
      return shared.env_steps.load() - static_cast<int64_t>(consumed) < remote_ahead + opt.training_starts;
    };
    server = std::make_unique<dist::LearnerServer>(so);
    if (req.resume) server->RestoreSequences(resumed.actor_sequences);
    CheckFiniteWeights(learner_agent.ActorWeights(), "the weights were not sent to the actors");
    server->Publish(ToSnapshot(learner_agent.ActorWeights(), std::max<int64_t>(1, resumed.learner_steps)));
    spdlog::info("learner listening on {} (port {}); start actors with: hilserl actor --task {} --learner "
                 "127.0.0.1:{}", req.listen, server->port(), req.config.task, server->port());
    if (req.on_listening) req.on_listening(server->port());
  }
  std::atomic<double> recent_success{resumed.ledger.own_success_rate()};
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  const double ratio = opt.learner_steps_per_env_step;
  // Gradient updates per learner step: critic_actor_ratio for SAC, one refit for HG-DAgger.
  const int updates_per_learner_step = opt.method == "hg_dagger" ? 1 : opt.critic_actor_ratio;
  // The actor may run this many env steps ahead of what the learner has consumed.
  const int64_t max_ahead = 20;

  // ---- remote actors (distributed learner): received batches -> the learner's queue
  auto receive = [&] {
    try {
      std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, EpisodeItem>> open;  // -> local id, stats
      uint64_t next_local_id = resumed.next_episode_id;
      bool budget_reached = false;
      while (true) {
        {
          std::lock_guard<std::mutex> l(shared.mu);
          if (shared.stop) break;
        }
        std::vector<dist::ReceivedBatch> batches = server->Take(std::chrono::milliseconds(budget_reached ? 0 : 200));
        if (server->TakeDurabilityRequest()) {
          std::lock_guard<std::mutex> l(shared.mu);
          shared.checkpoint_requested = true;
        }
        {
          std::lock_guard<std::mutex> l(shared.mu);
          for (auto& b : batches) {
            for (size_t i = 0; i < b.transitions.size(); ++i) {
              dist::Transition& t = b.transitions[i];
              // Episode ids are per actor: give each (actor, episode) its own id here.
              auto [it, fresh] = open.try_emplace({b.actor_id, t.episode_id});
              if (fresh) it->second.first = next_local_id++;
              EpisodeItem& e = it->second.second;
              e.episode_return += t.reward;
              e.length = t.step + 1;
              e.intervened += t.intervened ? 1 : 0;
              const bool ends = t.terminated || t.truncated;
              e.success = t.success;
              StepItem item;
              static_cast<dist::Transition&>(item) = std::move(t);
              item.episode_id = it->second.first;
              item.actor_id = b.actor_id;
              item.batch_seq = b.seq;
              item.batch_end = i + 1 == b.transitions.size();
              const int64_t done_steps = shared.env_steps.fetch_add(1) + 1;
              shared.steps.push_back(std::move(item));
              if (ends) {
                e.env_step = done_steps;
                shared.episodes.push_back(e);
                open.erase(it);
              }
            }
          }
        }
        shared.data_cv.notify_all();
        shared.learner_cv.notify_all();
        if (budget_reached) break;  // everything the server accepted is in the queue
        if (shared.env_steps.load() >= opt.env_steps) {
          // Enough data: refuse new batches (they stay with their actors), then take in
          // what was already accepted, so that the final checkpoint holds every batch the
          // actors were told was accepted.
          server->StopAccepting(fmt::format("the learner reached its step budget ({} env steps) and takes no more "
                                            "transitions", opt.env_steps));
          budget_reached = true;
        }
      }
      std::lock_guard<std::mutex> l(shared.mu);
      if (budget_reached) shared.actor_done = true;
    } catch (...) {
      shared.Fail(std::current_exception());
    }
    shared.data_cv.notify_all();
  };

  // ---- actor thread (embedded)
  auto act = [&] {
    try {
      int64_t version = 0;
      ActorHooks hooks;
      hooks.before_step = [&] {
        std::unique_lock<std::mutex> l(shared.mu);
        shared.learner_cv.wait(l, [&] {
          if (shared.stop) return true;
          if (!shared.training_started) return true;
          const double consumed = shared.learner_steps.load() / ratio;
          return shared.env_steps.load() - static_cast<int64_t>(consumed) < max_ahead + opt.training_starts;
        });
        if (shared.stop) return false;
        if (viewer) viewer->Show(*env);
        if (shared.weights_version != version) {
          actor_agent.LoadWeights(shared.weights, "learner weights");
          version = shared.weights_version;
        }
        return true;
      };
      hooks.emit = [&](StepItem&& item, EpisodeItem* finished) {
        const int64_t done_steps = shared.env_steps.fetch_add(1) + 1;
        const bool last = done_steps >= opt.env_steps;
        {
          std::lock_guard<std::mutex> l(shared.mu);
          shared.steps.push_back(std::move(item));
          if (finished) {
            finished->env_step = done_steps;
            shared.episodes.push_back(*finished);
          }
          if (last) shared.actor_done = true;
        }
        shared.data_cv.notify_all();
        return !last;
      };
      hooks.recent_success = [&] { return recent_success.load(); };
      ActorLoop(*env, actor_agent, layout, backbone.get(), op.get(), req.seed, resumed.next_episode_id, realtime, hooks,
                /*deterministic=*/opt.method == "hg_dagger");
    } catch (...) {
      shared.Fail(std::current_exception());
    }
  };
  std::thread actor = server ? std::thread(receive) : std::thread(act);

  // ---- learner thread
  TrainResult result;
  // What the learner has inserted (acknowledged): the state a resume checkpoint saves.
  ResumeState live = resumed;
  double rate_limiter_wait_s = 0;  // learner thread only
  int64_t skipped_updates = 0;     // learner thread only
  std::map<uint64_t, uint64_t> durable_sequences = resumed.actor_sequences;  // in the last resume checkpoint
  std::thread learner([&] {
    try {
      Rng rng((req.seed ^ 0x1ea4e5ULL) + static_cast<uint64_t>(resumed.learner_steps));
      SampleBatch batch;
      batch.Resize(layout, opt.batch_size, /*pack_features=*/true);
      const int demo_share = static_cast<int>(opt.batch_size * opt.demo_fraction);
      int64_t& inserted = live.env_steps;
      int64_t next_checkpoint =
          opt.checkpoint_every > 0 ? (inserted / opt.checkpoint_every + 1) * opt.checkpoint_every : INT64_MAX;
      // Length and intervened steps of the episodes being inserted (several with remote actors).
      std::map<uint64_t, std::pair<int, int>> open_episodes;
      auto last_log = std::chrono::steady_clock::now();
      int64_t last_log_steps = 0;
      UpdateInfo info;
      NonFiniteGuard guard{opt.max_nonfinite_updates};
      // Learner steps owed for the data inserted so far.
      auto target = [&] { return static_cast<int64_t>(ratio * static_cast<double>(inserted - opt.training_starts + 1)); };
      while (true) {
        std::deque<StepItem> items;
        bool done = false, checkpoint_requested = false;
        {
          std::unique_lock<std::mutex> l(shared.mu);
          const auto wait_start = std::chrono::steady_clock::now();
          shared.data_cv.wait(l, [&] {
            if (shared.stop || !shared.steps.empty() || shared.checkpoint_requested) return true;
            if (rl_buffer.size() < opt.training_starts) return shared.actor_done;
            return shared.learner_steps.load() < target() || shared.actor_done;
          });
          // Time the rate limiter held the learner back, waiting for new data.
          if (shared.training_started) {
            rate_limiter_wait_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
          }
          if (shared.stop) break;
          items.swap(shared.steps);
          done = shared.actor_done && items.empty();
          checkpoint_requested = std::exchange(shared.checkpoint_requested, false);
        }
        for (const auto& it : items) {
          StepRecord r{it.episode_id, it.step, it.obs.get(), it.next_obs.get(), it.action, it.reward,
                       it.terminated, it.truncated, it.grasp_penalty, it.intervened};
          rl_buffer.Add(r);
          if (it.intervened) demo_buffer.Add(r);  // corrections are demonstrations too
          ++inserted;
          auto& [length, intervened] = open_episodes[it.episode_id];
          ++length;
          intervened += it.intervened ? 1 : 0;
          live.next_episode_id = std::max(live.next_episode_id, it.episode_id + 1);
          if (it.terminated || it.truncated) {
            live.ledger.Add(it.success, length, intervened, inserted);
            open_episodes.erase(it.episode_id);
          }
          if (it.batch_end) live.actor_sequences[it.actor_id] = it.batch_seq;
        }
        if (server && checkpoint_requested && live.actor_sequences != durable_sequences) {
          // A remote actor waits for its batches to be durable: checkpoint what is inserted.
          live.learner_steps = shared.learner_steps.load();
          WriteResumeCheckpoint(fs::path(req.run_dir) / "checkpoints" / "resume", learner_agent, req.config,
                                backbone.get(), rl_buffer, demo_buffer, live);
          server->MarkDurable(live.actor_sequences);
          durable_sequences = live.actor_sequences;
        }
        if (rl_buffer.size() < opt.training_starts) {
          if (done) break;
          continue;
        }
        if (!normalized) {
          set_normalization(rl_buffer);
          normalized = true;
        }
        live.normalized = normalized;
        shared.training_started = true;
        while (shared.learner_steps.load() < target()) {
          // Half demo, half RL once the demo buffer has data (demos or corrections).
          const int demo_rows = demo_buffer.size() > 0 ? demo_share : 0;
          for (int k = 0; k < opt.critic_actor_ratio; ++k) {
            if (opt.method == "hg_dagger") {
              // HG-DAgger: refit by supervised learning on the demos and every correction.
              demo_buffer.SampleInto(0, opt.batch_size, rng, &batch);
              info = learner_agent.BcUpdate(ToTrainBatch(batch, layout, opt.batch_size));
              guard.Count(info, shared.learner_steps.load() + 1);
              break;
            }
            if (demo_rows > 0) demo_buffer.SampleInto(0, demo_rows, rng, &batch);
            rl_buffer.SampleInto(demo_rows, opt.batch_size - demo_rows, rng, &batch);
            info = learner_agent.Update(ToTrainBatch(batch, layout, demo_rows), k + 1 == opt.critic_actor_ratio);
            guard.Count(info, shared.learner_steps.load() + 1);
          }
          skipped_updates = guard.total;
          const int64_t ls = shared.learner_steps.fetch_add(1) + 1;
          if (ls % opt.weight_sync_every == 0) {
            nn::TensorMap weights = learner_agent.ActorWeights();
            // Never publish poisoned weights.
            CheckFiniteWeights(weights, fmt::format("learner step {}: the weights were not sent to the actors", ls));
            std::lock_guard<std::mutex> l(shared.mu);
            shared.weights = std::move(weights);
            for (auto& [k, v] : shared.weights) v = v.clone();
            ++shared.weights_version;
            if (server) server->Publish(ToSnapshot(shared.weights, ls));
          }
          shared.learner_cv.notify_all();
          if (ls % 100 == 0) {
            const auto now = std::chrono::steady_clock::now();
            const double dt = std::chrono::duration<double>(now - last_log).count();
            const double ups = (ls - last_log_steps) * updates_per_learner_step / std::max(dt, 1e-9);
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
                     {"learner/updates_per_s", ups}, {"learner/rate_limiter_wait_s", rate_limiter_wait_s}, {"buffer/rl_transitions", static_cast<double>(rl_buffer.size())},
                     {"buffer/demo_transitions", static_cast<double>(demo_buffer.size())}}) {
              if (std::isfinite(v)) tensorboard.Scalar(tag, step, v);
            }
            tensorboard.Flush();
          }
          if (inserted >= next_checkpoint) {
            WriteCheckpoint((fs::path(req.run_dir) / "checkpoints" / fmt::format("step_{:07d}", inserted)).string(),
                            learner_agent, req.config, inserted, ls, backbone.get());
            live.learner_steps = ls;
            WriteResumeCheckpoint(fs::path(req.run_dir) / "checkpoints" / "resume", learner_agent, req.config,
                                  backbone.get(), rl_buffer, demo_buffer, live);
            if (server) {
              server->MarkDurable(live.actor_sequences);  // on disk: actors may forget these batches
              durable_sequences = live.actor_sequences;
            }
            next_checkpoint += opt.checkpoint_every;
          }
          {
            std::lock_guard<std::mutex> l(shared.mu);
            if (!shared.steps.empty() || shared.stop || shared.checkpoint_requested) break;  // insert fresh data first
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
  EpisodeLedger seen = resumed.ledger;  // episodes as the actor reported them
  bool interrupted = false;
  while (true) {
    std::deque<EpisodeItem> eps;
    bool finished;
    {
      std::unique_lock<std::mutex> l(shared.mu);
      shared.learner_cv.wait_for(l, std::chrono::milliseconds(200));
      if (req.interrupt && req.interrupt->load() != 0 && !shared.stop) {
        // Stop the threads; the final checkpoint below saves what the learner holds.
        interrupted = true;
        shared.stop = true;
        shared.data_cv.notify_all();
        shared.learner_cv.notify_all();
      }
      eps.swap(shared.episodes);
      finished = shared.stop;
    }
    for (const auto& e : eps) {
      seen.Add(e.success, e.length, e.intervened, e.env_step);
      const double rate = static_cast<double>(e.intervened) / std::max(e.length, 1);
      episodes_csv << fmt::format("{},{},{:.4f},{},{},{},{:.4f},{:.2f}\n", seen.episodes, e.env_step,
                                  e.episode_return, e.length, e.success ? 1 : 0, e.intervened, rate, seconds());
      const double success20 = seen.success_rate(), interv20 = seen.intervention_rate();
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
    const double rate = seen.success_rate(), irate = seen.intervention_rate();
    result.recent_success = rate;
    recent_success = seen.own_success_rate();
    result.recent_intervention_rate = irate;
    const double t = seconds();
    if (bar) {
      bar->Update(shared.env_steps.load(),
                  fmt::format("ep {} success(20) {:.2f} interv(20) {:.2f} | {:.0f} env steps/s {:.0f} updates/s",
                              seen.episodes, rate, irate,
                              shared.env_steps.load() / std::max(t, 1e-9),
                              shared.learner_steps.load() * updates_per_learner_step / std::max(t, 1e-9)));
    }
    if (finished) break;
  }
  actor.join();
  learner.join();
  if (bar) bar->Finish();
  episodes_csv.flush();
  if (server) server->StopAccepting("the learner is stopping");
  if (interrupted) spdlog::warn("interrupted: writing the final checkpoint with everything the learner holds");

  // Only what the learner inserted counts (steps still queued are not in the buffers).
  result.env_steps = live.env_steps;
  result.learner_steps = shared.learner_steps.load();
  result.skipped_updates = skipped_updates;
  result.interrupted = interrupted;
  result.episodes = seen.episodes;
  result.history = seen.history;
  result.intervened_steps = seen.intervened_steps;
  result.learner_wait_s = rate_limiter_wait_s;
  if (classifier) {
    result.classifier_reward = true;
    result.classifier_confusion = classifier->confusion();
  }
  result.wall_time_s = seconds();
  result.updates_per_s = result.learner_steps * updates_per_learner_step / std::max(result.wall_time_s, 1e-9);
  result.env_steps_per_s = result.env_steps / std::max(result.wall_time_s, 1e-9);
  result.checkpoint = (fs::path(req.run_dir) / "checkpoints" / "final").string();
  // The final checkpoint, whatever stopped the run: the weights are the last good ones
  // (non-finite updates are never applied), the buffers hold everything inserted.
  try {
    WriteCheckpoint(result.checkpoint, learner_agent, req.config, result.env_steps, result.learner_steps,
                    backbone.get());
    live.learner_steps = result.learner_steps;
    WriteResumeCheckpoint(fs::path(req.run_dir) / "checkpoints" / "resume", learner_agent, req.config, backbone.get(),
                          rl_buffer, demo_buffer, live);
    if (server) {
      // Durable only now that the checkpoint is on disk; tell the actors before leaving.
      server->MarkDurable(live.actor_sequences);
      if (!server->WaitDurableToldToActors(std::chrono::seconds(10))) {
        spdlog::warn("some actors were not told that their batches are in the final checkpoint; they resend them "
                     "to the next learner on this address");
      }
    }
  } catch (const std::exception& e) {
    if (!shared.error) throw;
    spdlog::error("the final checkpoint could not be written: {}", e.what());
  }
  if (shared.error) {
    spdlog::error("the run stopped with an error; the final checkpoint ({}) holds {} env steps and {} learner steps",
                  result.checkpoint, result.env_steps, result.learner_steps);
    std::rethrow_exception(shared.error);
  }
  if (server) {
    const dist::LearnerServer::Stats st = server->stats();
    spdlog::info("transport: {} actors, {} batches ({} transitions, {:.1f} MB), {} duplicates, {} refused, {} held "
                 "back by the rate limiter; {} weight updates sent ({:.1f} MB)", st.actors, st.batches, st.transitions,
                 st.bytes / 1e6, st.duplicates, st.rejected, st.rate_limited, st.weights_sent, st.weight_bytes / 1e6);
  }

  if (opt.eval_episodes > 0 && !interrupted) {
    RolloutOptions ro;
    ro.episodes = opt.eval_episodes;
    ro.seed = 1000000 + req.seed;
    ro.progress = req.progress;
    // Judged by the task's own success (the simulator's ground truth), not the classifier.
    std::unique_ptr<Env> truth_env = classifier ? MakeEnv(req.config) : nullptr;
    result.eval = Evaluate(truth_env ? *truth_env : *env, learner_agent, ro, backbone.get());
  }
  return result;
}

// ---------------------------------------------------------------- remote actor

ActorResult RunActor(ActorRequest req) {
  TrainOptions opt;
  {
    ConfigNode node = req.config.Section("train");
    opt.Load(node);
  }
  nn::ConfigureCpuThreads(1);
  torch::manual_seed(req.seed);
  std::unique_ptr<Env> env = WithRewardClassifier(req.config, MakeEnv(req.config));
  const AgentSetup setup = DescribeAgent(req.config, *env);
  std::unique_ptr<nn::FrozenBackbone> backbone = MakeBackbone(setup);
  SacAgent agent(setup.obs_dim, setup.action_dim, setup.options, torch::kCPU, setup.encoder);
  std::unique_ptr<Operator> op = MakeOperator(req.config, opt, req.teleop_device);
  std::unique_ptr<SimViewer> viewer = req.teleop_device.empty() ? nullptr : OpenViewerIfPossible(*env);

  dist::ActorClientOptions co;
  co.address = req.learner;
  co.token = req.token;
  co.tls_root_cert = req.tls_root_cert;
  co.name = req.name;
  co.layout = setup.layout;
  co.identity = {req.config.task, setup.layout.Describe(), NetworkSignature(setup, backbone.get())};
  dist::ActorClient client(co);
  spdlog::info("actor '{}' ({:x}) streaming to the learner at {}", req.name, client.actor_id(), req.learner);

  const int64_t steps = req.env_steps > 0 ? req.env_steps : opt.env_steps;
  ActorResult result;
  std::optional<ProgressBar> bar;
  if (req.progress) bar.emplace("actor", steps);
  int successes = 0;
  std::deque<bool> own;  // SucceededOnItsOwn of the last 20 episodes, for the operator
  const double trust = TrustMaxCorrected(req.config);
  auto success_rate = [&] { return result.episodes ? static_cast<double>(successes) / result.episodes : 0.0; };
  auto own_success_rate = [&] { return static_cast<double>(std::count(own.begin(), own.end(), true)) / 20.0; };
  ActorHooks hooks;
  hooks.before_step = [&] {
    if (viewer) viewer->Show(*env);
    if (auto w = client.TakeWeights(result.weights_version)) {
      agent.LoadWeights(FromSnapshot(*w), "learner weights");
      result.weights_version = w->version;
    }
    return true;
  };
  hooks.emit = [&](StepItem&& item, EpisodeItem* finished) {
    client.Add(std::move(static_cast<dist::Transition&>(item)));  // throws the learner's refusal
    ++result.env_steps;
    if (finished) {
      ++result.episodes;
      successes += finished->success ? 1 : 0;
      own.push_back(SucceededOnItsOwn(finished->success, finished->length, finished->intervened, trust));
      if (own.size() > 20) own.pop_front();
    }
    if (bar) {
      const auto st = client.stats();
      bar->Update(result.env_steps, fmt::format("ep {} success {:.2f} | weights v{} | {} | unacked {}",
                                                result.episodes, success_rate(), result.weights_version,
                                                st.connected ? "connected" : "connecting", st.unacknowledged));
    }
    return result.env_steps < steps;
  };
  hooks.recent_success = own_success_rate;
  ActorLoop(*env, agent, setup.layout, backbone.get(), op.get(), req.seed, 0, !req.teleop_device.empty(), hooks);
  // Delivered means in the learner's checkpoint on disk, not merely received.
  result.delivered = client.WaitDurable(std::chrono::milliseconds(static_cast<int64_t>(req.durable_wait_s * 1000)));
  if (bar) bar->Finish();
  const auto st = client.stats();
  result.reconnects = st.reconnects;
  result.retries = st.retries;
  result.undelivered = st.unacknowledged;
  result.success_rate = success_rate();
  return result;
}

LoadedPolicy LoadCheckpoint(const std::string& dir, const std::vector<std::string>& overrides) {
  const fs::path root(dir);
  const fs::path config_path = root / "config.yaml";
  const fs::path weights_path = root / "weights.safetensors";
  if (!fs::exists(config_path) || !fs::exists(weights_path)) {
    throw NotFound(fmt::format("'{}' is not a checkpoint directory (expected config.yaml and weights.safetensors)", dir));
  }
  VerifyCheckpoint(dir);
  std::ifstream in(config_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LoadedPolicy out{TaskConfig::FromYaml(text, config_path.string()), nullptr, nullptr, nullptr};
  for (const auto& o : overrides) out.config.root.SetFromAssignment(o);
  out.env = MakeEnv(out.config);
  const AgentSetup setup = DescribeAgent(out.config, *out.env);
  out.agent = MakeAgent(setup);
  out.agent->LoadWeights(nn::LoadSafetensors(weights_path.string()), weights_path.string());
  if (setup.encoder.enabled() && setup.encoder.head == "conv") {
    out.backbone = MakeBackbone(setup);
  } else if (setup.encoder.enabled()) {
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
