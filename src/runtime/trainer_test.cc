#include "runtime/trainer.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include <gtest/gtest.h>

#include "core/error.h"
#include "agents/reward_classifier.h"
#include "data/episode_dataset.h"
#include "nn/safetensors.h"

namespace hilserl {
namespace {
namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("hilserl_" + name);
  fs::remove_all(dir);
  return dir.string();
}

// Writes `n` scripted-expert episodes of `task` in the policy action space.
void RecordDemos(const std::string& task, const std::string& path, int n, const std::vector<std::string>& overrides) {
  TaskConfig config = TaskConfig::Load(task, overrides);
  auto env = MakeEnv(config);
  auto expert = MakeExpert(config);
  EpisodeWriter w(path, DatasetInfo{env->name(), env->control_dt(), env->action_space().labels});
  for (int i = 0; i < n; ++i) w.Write(RecordExpertEpisode(*env, *expert, i));
  w.Close();
}

// The short version of the Pendulum check (the full 20k-step run is
// `hilserl train --task pendulum`): small networks, 3000 steps, and the deterministic
// policy must already swing up far better than the ~-1200 of random actions.
TEST(TrainerTest, SacLearnsPendulumSwingUp) {
  TrainRequest req{TaskConfig::Load("pendulum", {"train.env_steps=3000", "train.training_starts=200",
                                                  "train.batch_size=128", "agent.hidden=[64, 64]",
                                                  "train.eval_episodes=5", "train.checkpoint_every=0",
                                                  "agent.discount=0.99"}),
                   "", TempDir("pendulum_run"), 0, false, ""};
  const TrainResult r = Train(req);
  EXPECT_EQ(r.env_steps, 3000);
  EXPECT_GE(r.learner_steps, 2700);
  ASSERT_EQ(r.eval.episodes.size(), 5u);
  std::cout << "pendulum eval mean return after 3000 steps: " << r.eval.mean_return << "\n";
  EXPECT_GT(r.eval.mean_return, -400.0) << "SAC did not learn to swing the pendulum up";
}

TEST(TrainerTest, PickCubeWithDemosWritesALoadableCheckpoint) {
  const std::string dir = TempDir("pick_run");
  const std::string demos = dir + "/demos.h5";
  fs::create_directories(dir);
  RecordDemos("pick_cube", demos, 2, {});
  TrainRequest req{TaskConfig::Load("pick_cube", {"train.env_steps=150", "train.training_starts=50",
                                                   "train.batch_size=32", "agent.hidden=[32, 32]",
                                                   "train.eval_episodes=1", "train.checkpoint_every=100"}),
                   demos, dir, 1, false, ""};
  const TrainResult r = Train(req);
  EXPECT_EQ(r.env_steps, 150);
  // One periodic checkpoint, named by the env steps it has seen (>= 100, timing-dependent).
  int periodic = 0;
  for (const auto& e : fs::directory_iterator(dir + "/checkpoints")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step_", 0) == 0) {
      ++periodic;
      EXPECT_GE(std::stoi(name.substr(5)), 100) << name;
      EXPECT_TRUE(fs::exists(e.path() / "weights.safetensors")) << name;
    }
  }
  EXPECT_EQ(periodic, 1);
  EXPECT_TRUE(fs::exists(r.checkpoint + "/optimizers.pt"));
  EXPECT_TRUE(fs::exists(dir + "/episodes.csv"));

  LoadedPolicy p = LoadCheckpoint(r.checkpoint);
  RolloutOptions ro;
  ro.episodes = 1;
  ro.progress = false;
  EXPECT_EQ(Evaluate(*p.env, *p.agent, ro).episodes.size(), 1u);

  // A truncated weights file is refused with a message naming it.
  fs::resize_file(r.checkpoint + "/weights.safetensors", 100);
  EXPECT_THROW(LoadCheckpoint(r.checkpoint), DataLoss);
}

// Every task of the suite trains end to end with the scripted operator (a smoke run:
// a few hundred steps with small networks), and its checkpoint evaluates.
class TaskTrainingTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TaskTrainingTest, TrainsWithTheScriptedOperatorAndItsCheckpointEvaluates) {
  const std::string task = GetParam();
  const std::string dir = TempDir("suite_" + task);
  fs::create_directories(dir);
  const std::string demos = dir + "/demos.h5";
  RecordDemos(task, demos, 2, {});
  TrainRequest req{TaskConfig::Load(task, {"train.env_steps=260", "train.training_starts=60", "train.batch_size=32",
                                           "agent.hidden=[32, 32]", "train.eval_episodes=0",
                                           "train.checkpoint_every=0", "train.interventions=true"}),
                   demos, dir, 3, false, ""};
  const TrainResult r = Train(req);
  EXPECT_EQ(r.env_steps, 260);
  EXPECT_GT(r.learner_steps, 0);
  EXPECT_GT(r.intervened_steps, 0) << "the scripted operator never took over";
  LoadedPolicy p = LoadCheckpoint(r.checkpoint);
  EXPECT_EQ(p.env->name(), task);
  RolloutOptions ro;
  ro.episodes = 1;
  ro.progress = false;
  EXPECT_EQ(Evaluate(*p.env, *p.agent, ro).episodes.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Suite, TaskTrainingTest,
                         ::testing::Values("peg_insertion", "usb_grasp_insert", "handover", "dashboard", "pan_flip"));

TEST(TrainerTest, DemosOfAnotherTaskAreRefused) {
  const std::string dir = TempDir("mismatch_run");
  fs::create_directories(dir);
  const std::string demos = dir + "/pendulum_demos.h5";
  RecordDemos("pendulum", demos, 1, {"wrappers.time_limit=5"});
  TrainRequest req{TaskConfig::Load("pick_cube", {"train.env_steps=10"}), demos, dir, 0, false, ""};
  try {
    Train(req);
    FAIL() << "pendulum demos accepted for pick_cube";
  } catch (const DataLoss& e) {
    EXPECT_NE(std::string(e.what()).find(demos), std::string::npos) << e.what();
  }
}

// Pixel training end to end, small: two 64x64 cameras, demos encoded by the frozen
// backbone at load, the actor encoding each frame once, features (not pixels) in the
// replay buffers, a checkpoint that carries its backbone.
TEST(TrainerTest, PixelPickCubeTrainsOnCachedFeaturesAndReloads) {
  const std::string dir = TempDir("pixel_run");
  fs::create_directories(dir);
  const std::string demos = dir + "/demos.h5";
  const std::vector<std::string> pixels = {"env.obs_mode=pixels", "env.image_size=64"};
  RecordDemos("pick_cube", demos, 1, pixels);
  std::vector<std::string> o = pixels;
  for (const char* s : {"train.env_steps=60", "train.training_starts=20", "train.batch_size=8", "agent.hidden=[16, 16]",
                        "encoder.bottleneck=16", "encoder.spatial_features=2", "encoder.proprio_latent=8",
                        "train.eval_episodes=0", "train.checkpoint_every=0", "wrappers.time_limit=30"}) {
    o.emplace_back(s);
  }
  const TrainResult r = Train(TrainRequest{TaskConfig::Load("pick_cube", o), demos, dir, 2, false, ""});
  EXPECT_EQ(r.env_steps, 60);
  EXPECT_GT(r.learner_steps, 30);
  EXPECT_TRUE(fs::exists(r.checkpoint + "/backbone.safetensors"));

  LoadedPolicy p = LoadCheckpoint(r.checkpoint);
  ASSERT_NE(p.backbone, nullptr);
  EXPECT_EQ(p.agent->encoder_spec().cameras, (std::vector<std::string>{"front", "wrist"}));
  RolloutOptions ro;
  ro.episodes = 1;
  ro.progress = false;
  EXPECT_EQ(Evaluate(*p.env, *p.agent, ro, p.backbone.get()).episodes.size(), 1u);
  EXPECT_THROW(AgentPolicy(*p.env, *p.agent, nullptr), InvalidArgument);  // features need the backbone

  fs::remove(r.checkpoint + "/backbone.safetensors");
  EXPECT_THROW(LoadCheckpoint(r.checkpoint), DataLoss);
}

// The end-to-end (DrQ) pixel agent: pixels downsampled by the stem, conv heads trained by
// the critic; its checkpoint needs no backbone file and reloads.
TEST(TrainerTest, PixelPickCubeTrainsAnEndToEndConvEncoder) {
  const std::string dir = TempDir("conv_run");
  std::vector<std::string> o = {"env.obs_mode=pixels", "env.image_size=64", "encoder.type=conv", "encoder.conv_size=32",
                                "encoder.conv_channels=4", "encoder.bottleneck=16", "encoder.proprio_latent=8",
                                "train.env_steps=40", "train.training_starts=20", "train.batch_size=8",
                                "agent.hidden=[16, 16]", "train.eval_episodes=0", "train.checkpoint_every=0"};
  const TrainResult r = Train(TrainRequest{TaskConfig::Load("pick_cube", o), "", dir, 4, false, ""});
  EXPECT_EQ(r.env_steps, 40);
  EXPECT_GT(r.learner_steps, 10);
  EXPECT_FALSE(fs::exists(r.checkpoint + "/backbone.safetensors"));
  LoadedPolicy p = LoadCheckpoint(r.checkpoint);
  ASSERT_NE(p.backbone, nullptr);
  EXPECT_TRUE(p.backbone->is_pixel_stem());
  EXPECT_EQ(p.agent->encoder_spec().head, "conv");
  RolloutOptions ro;
  ro.episodes = 1;
  ro.progress = false;
  EXPECT_EQ(Evaluate(*p.env, *p.agent, ro, p.backbone.get()).episodes.size(), 1u);
  EXPECT_THROW(Train(TrainRequest{TaskConfig::Load("pick_cube", {"env.obs_mode=pixels", "encoder.type=vit"}), "", dir,
                                  0, false, ""}),
               InvalidArgument);
}

// Training on the learned reward: a classifier trained on recorded labels replaces the
// simulator's success; its verdicts are scored against the ground truth on every step.
TEST(TrainerTest, StatePickCubeTrainsOnAClassifierReward) {
  const std::string dir = TempDir("classifier_run");
  fs::create_directories(dir);
  TaskConfig label_config = TaskConfig::Load("pick_cube", {"env.obs_mode=pixels", "env.image_size=64"});
  auto env = MakeEnv(label_config);
  auto expert = MakeExpert(label_config);
  LabelOptions lo{[](const StepResult& r) { return r.info.at("success") > 0.5; }, 3};
  std::vector<Episode> episodes;
  for (uint64_t seed : {1, 2}) {
    expert->Reset(seed);
    episodes.push_back(RecordEpisode(*env, [&](Env& e) { return ExpertActionFor(e, *expert); }, seed, false, &lo));
    EXPECT_TRUE(episodes.back().success);
    EXPECT_EQ(episodes.back().labels.back(), 1);
    EXPECT_EQ(episodes.back().labels.front(), 0);
  }
  ClassifierOptions co;
  co.steps = 5;
  co.batch = 8;
  co.augmentations = 0;
  co.bottleneck = 8;
  co.spatial_features = 1;
  RewardClassifier clf({"wrist"}, 64, "", 0, co);
  clf.Train(episodes);
  clf.Save(dir + "/classifier");

  std::vector<std::string> o = {"env.obs_mode=state", "env.image_size=64", "reward_classifier.model=" + dir + "/classifier",
                                "reward_classifier.threshold=0.9", "train.env_steps=50", "train.training_starts=20",
                                "train.batch_size=8", "agent.hidden=[16, 16]", "train.eval_episodes=1",
                                "train.checkpoint_every=0", "wrappers.time_limit=25"};
  const TrainResult r = Train(TrainRequest{TaskConfig::Load("pick_cube", o), "", dir, 3, false, ""});
  EXPECT_TRUE(r.classifier_reward);
  EXPECT_EQ(r.classifier_confusion.steps(), 50);
  EXPECT_EQ(r.eval.episodes.size(), 1u);
  EXPECT_THROW(Train(TrainRequest{TaskConfig::Load("pick_cube", {"reward_classifier.model=" + dir + "/nothing"}), "",
                                  dir, 3, false, ""}),
               NotFound);
}

// Tiny pendulum runs for the robustness tests below (each a few seconds).
std::vector<std::string> TinyPendulum(std::vector<std::string> extra) {
  std::vector<std::string> o = {"train.training_starts=50", "train.batch_size=16", "agent.hidden=[16, 16]",
                                "train.eval_episodes=0", "train.checkpoint_every=0"};
  o.insert(o.end(), extra.begin(), extra.end());
  return o;
}

// Pendulum demos (5-step episodes) with `poison` applied to the second episode.
std::string PoisonedDemos(const std::string& dir, const std::string& name, std::function<void(Episode&)> poison) {
  const std::string clean = dir + "/clean.h5", path = dir + "/" + name;
  RecordDemos("pendulum", clean, 2, {"wrappers.time_limit=5"});
  DatasetInfo info;
  std::vector<Episode> eps = ReadEpisodes(clean, &info);
  for (size_t e = 1; e < eps.size(); ++e) poison(eps[e]);
  EpisodeWriter w(path, info);
  for (const auto& ep : eps) w.Write(ep);
  w.Close();
  return path;
}

int64_t ResumeEnvSteps(const std::string& run_dir) {
  std::ifstream in(run_dir + "/checkpoints/resume/state.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = text.find("\"env_steps\":");
  return at == std::string::npos ? -1 : std::stoll(text.substr(at + 12));
}

bool AllFinite(const nn::TensorMap& m) {
  for (const auto& [k, v] : m) {
    if (!torch::isfinite(v).all().item<bool>()) return false;
  }
  return true;
}

// A run killed while writing a checkpoint: the half-written folder is removed, and a
// checkpoint caught between its two renames is restored from its previous copy.
TEST(TrainerRobustnessTest, LeftoversOfAnInterruptedCheckpointWriteAreTidiedUp) {
  const std::string dir = TempDir("tidy_checkpoints");
  fs::remove_all(dir);
  {
    TrainRequest req{TaskConfig::Load("pendulum", TinyPendulum({"train.env_steps=80"})), "", dir, 0, false, ""};
    Train(req);
  }
  const fs::path ck = fs::path(dir) / "checkpoints";
  ASSERT_TRUE(fs::exists(ck / "resume" / "state.json"));
  fs::create_directories(ck / "step_0000040.tmp");
  std::ofstream(ck / "step_0000040.tmp" / "weights.safetensors") << "half";
  fs::rename(ck / "resume", ck / "resume.old");  // killed between the renames
  TrainRequest again{TaskConfig::Load("pendulum", TinyPendulum({"train.env_steps=120"})), "", dir, 0, false, ""};
  again.resume = true;
  const TrainResult r = Train(again);
  EXPECT_FALSE(fs::exists(ck / "step_0000040.tmp"));
  EXPECT_FALSE(fs::exists(ck / "resume.old"));
  EXPECT_EQ(ResumeEnvSteps(dir), 120) << "resumed from the restored checkpoint and went on";
  EXPECT_GT(r.env_steps, 0);
}

// A checkpoint file changed after it was written (a flipped bit, a truncated config) is
// refused naming the file, for evaluation and for resuming.
TEST(TrainerRobustnessTest, ACorruptCheckpointFileIsRefusedNamingIt) {
  const std::string dir = TempDir("corrupt_checkpoint");
  fs::remove_all(dir);
  TrainRequest req{TaskConfig::Load("pendulum", TinyPendulum({"train.env_steps=80"})), "", dir, 0, false, ""};
  Train(req);
  const fs::path final_dir = fs::path(dir) / "checkpoints" / "final";
  const fs::path resume_dir = fs::path(dir) / "checkpoints" / "resume";
  ASSERT_TRUE(fs::exists(final_dir / "checksums.json"));
  VerifyCheckpoint(final_dir.string());
  EXPECT_NO_THROW(LoadCheckpoint(final_dir.string()));
  auto flip_byte = [](const fs::path& p) {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(fs::file_size(p) - 3));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);
    f.seekp(static_cast<std::streamoff>(fs::file_size(p) - 3));
    f.write(&c, 1);
  };
  auto refused = [](const std::function<void()>& load, const fs::path& file) {
    try {
      load();
      ADD_FAILURE() << "accepted a changed " << file;
    } catch (const DataLoss& e) {
      EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
    }
  };
  flip_byte(final_dir / "weights.safetensors");
  refused([&] { LoadCheckpoint(final_dir.string()); }, final_dir / "weights.safetensors");
  flip_byte(resume_dir / "optimizers.pt");
  refused([&] { ResumeConfig(dir, {}); }, resume_dir / "optimizers.pt");
  fs::resize_file(resume_dir / "config.yaml", fs::file_size(resume_dir / "config.yaml") / 2);
  TrainRequest again{TaskConfig::Load("pendulum", TinyPendulum({"train.env_steps=120"})), "", dir, 0, false, ""};
  again.resume = true;
  refused([&] { Train(again); }, resume_dir / "config.yaml");
}

TEST(TrainerRobustnessTest, AbsurdDemoValuesAreRefusedNamingFileEpisodeAndStep) {
  const std::string dir = TempDir("absurd_demos");
  fs::create_directories(dir);
  auto refused = [&](const std::string& name, std::function<void(Episode&)> poison, const std::string& words) {
    const std::string demos = PoisonedDemos(dir, name, poison);
    TrainRequest req{TaskConfig::Load("pendulum", TinyPendulum({"train.env_steps=60"})), demos, dir, 0, false, ""};
    try {
      Train(req);
      ADD_FAILURE() << "accepted " << name;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(demos + ": episode 1 "), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  refused("reward.h5", [](Episode& ep) { ep.rewards[3] = 3e38f; }, "step 3: reward 3e+38");
  refused("action.h5", [](Episode& ep) { ep.actions[2][0] = 1e30f; }, "step 2: action component 0");
  refused("obs.h5", [](Episode& ep) { ep.observations[4].proprio.begin()->second[0] = 1e30f; },
          "observation 4: proprio");
  // The observation limit is a setting.
  const std::string demos = PoisonedDemos(dir, "big.h5", [](Episode& ep) {
    ep.observations[1].proprio.begin()->second[0] = 5e3f;
  });
  TrainRequest req{TaskConfig::Load("pendulum", TinyPendulum({"train.env_steps=60", "train.max_abs_observation=1e3"})),
                   demos, dir, 0, false, ""};
  EXPECT_THROW(Train(req), InvalidArgument);
}

TEST(TrainerRobustnessTest, NonFiniteUpdatesStopTheRunWithTheLastGoodWeightsInTheCheckpoint) {
  const std::string dir = TempDir("nonfinite_run");
  fs::create_directories(dir);
  // Rewards the (deliberately loosened) door lets through but the losses cannot take.
  const std::string demos = PoisonedDemos(dir, "huge.h5", [](Episode& ep) {
    for (auto& r : ep.rewards) r = 3e38f;
  });
  TrainRequest req{TaskConfig::Load("pendulum", TinyPendulum({"train.env_steps=5000", "train.max_abs_reward=1e39",
                                                              "train.max_nonfinite_updates=5",
                                                              "train.demo_fraction=0.9"})),
                   demos, dir, 0, false, ""};
  try {
    Train(req);
    FAIL() << "the learner trained on";
  } catch (const DataLoss& e) {
    EXPECT_NE(std::string(e.what()).find("5 updates in a row had a non-finite loss"), std::string::npos) << e.what();
  }
  // The final checkpoint was written before the error, with finite weights.
  const nn::TensorMap w = nn::LoadSafetensors(dir + "/checkpoints/final/weights.safetensors");
  EXPECT_TRUE(AllFinite(w));
  EXPECT_TRUE(AllFinite(nn::LoadSafetensors(dir + "/checkpoints/resume/weights.safetensors")));
  const int64_t saved = ResumeEnvSteps(dir);
  EXPECT_GE(saved, 50);
  EXPECT_LT(saved, 5000);
}

TEST(TrainerRobustnessTest, InterruptWritesAFinalCheckpointWithEverythingAndTheRunResumes) {
  const std::string dir = TempDir("interrupt_run");
  std::atomic<int> interrupt{0};
  TrainRequest req{TaskConfig::Load("pendulum", TinyPendulum({"train.env_steps=1000000"})), "", dir, 0, false, ""};
  req.interrupt = &interrupt;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    interrupt = 2;
  });
  const TrainResult r = Train(req);
  stopper.join();
  EXPECT_TRUE(r.interrupted);
  EXPECT_GT(r.env_steps, 50);
  EXPECT_LT(r.env_steps, 1000000);
  // Nothing since the start is lost although no periodic checkpoint was due.
  EXPECT_EQ(ResumeEnvSteps(dir), r.env_steps);
  EXPECT_TRUE(fs::exists(dir + "/checkpoints/final/optimizers.pt"));
  EXPECT_TRUE(fs::exists(dir + "/checkpoints/resume/replay_rl.bin"));
  TrainRequest again{ResumeConfig(dir, {fmt::format("train.env_steps={}", r.env_steps + 20)}), "", dir, 0, false, ""};
  again.resume = true;
  EXPECT_EQ(Train(again).env_steps, r.env_steps + 20);
}

// A learner serving a real remote actor (RunActor) in this process.
struct RemoteRun {
  std::string dir;
  std::atomic<int> interrupt{0};
  std::atomic<int> port{0};
  std::thread thread;
  TrainResult result;
  std::exception_ptr error;

  RemoteRun(const std::string& name, int64_t steps) : dir(TempDir(name)) {
    TrainRequest req{TaskConfig::Load("pendulum", TinyPendulum({fmt::format("train.env_steps={}", steps)})), "", dir,
                     0, false, ""};
    req.listen = "127.0.0.1:0";
    req.interrupt = &interrupt;
    req.on_listening = [this](int p) { port = p; };
    thread = std::thread([this, req] {
      try {
        result = Train(req);
      } catch (...) {
        error = std::current_exception();
      }
    });
    for (int i = 0; i < 600 && port == 0 && !error; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ActorResult Act(int64_t steps, double durable_wait_s) {
    ActorRequest a{TaskConfig::Load("pendulum", TinyPendulum({})), fmt::format("127.0.0.1:{}", port.load()), "", "",
                   "a", steps, 7, false, ""};
    a.durable_wait_s = durable_wait_s;
    return RunActor(a);
  }
  void Finish() {
    thread.join();
    if (error) std::rethrow_exception(error);
  }
};

TEST(TrainerRobustnessTest, AnActorIsDeliveredOnlyOnceTheLearnersCheckpointHoldsItsSteps) {
  RemoteRun run("durable_actor", 100000);
  ASSERT_GT(run.port.load(), 0);
  // The learner wants far more steps; the actor stops at 200 and waits for a checkpoint
  // (no periodic one is due: the learner writes one on request).
  const ActorResult a = run.Act(200, 20);
  EXPECT_TRUE(a.delivered);
  EXPECT_EQ(a.undelivered, 0);
  EXPECT_EQ(ResumeEnvSteps(run.dir), 200);  // on disk before the actor was told
  run.interrupt = 2;
  run.Finish();
  EXPECT_TRUE(run.result.interrupted);
  EXPECT_EQ(run.result.env_steps, 200);
}

TEST(TrainerRobustnessTest, ALearnerAtItsStepBudgetKeepsEverythingItAccepted) {
  RemoteRun run("budget_learner", 300);
  ASSERT_GT(run.port.load(), 0);
  // The actor produces more than the learner wants: what the learner accepted is in its
  // final checkpoint, the rest is reported undelivered; nothing falls in between.
  const ActorResult a = run.Act(350, 6);
  run.Finish();
  // (A fast actor may have had all 350 accepted before the learner stopped accepting.)
  EXPECT_EQ(a.delivered, a.undelivered == 0);
  const int64_t saved = ResumeEnvSteps(run.dir);
  EXPECT_GE(saved, 300);
  EXPECT_EQ(saved + a.undelivered, 350);
  EXPECT_EQ(run.result.env_steps, saved);
}

}  // namespace
}  // namespace hilserl
