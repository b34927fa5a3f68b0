// `hilserl record-labels` and `hilserl train-classifier`: the data and the training of the
// learned success classifier that provides the reward (agents/reward_classifier.h).
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "agents/reward_classifier.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/paths.h"
#include "core/progress.h"
#include "core/rng.h"
#include "data/episode_dataset.h"
#include "runtime/rollout.h"
#include "teleop/human_operator.h"
#include "teleop/viewer.h"
#include "wrappers/make_env.h"

namespace hilserl::cli {
namespace {

struct LabelFlags {
  std::string task = "pick_cube";
  std::string operator_name = "scripted";
  int episodes = 40;
  int hold_steps = 10;
  double no_grasp_share = 0.3;
  double random_share = 0.2;
  uint64_t seed = 0;
  std::string out = "labels.h5";
  std::vector<std::string> overrides;
  bool progress = true;
};

// Scripted labelling: the expert (successes, held for hold_steps), the expert with its
// gripper kept open (near misses: the arm does everything but the cube stays down) and
// random actions; every frame labelled by the simulator's success. With a device, a person
// drives and holds the "success" button (gamepad X, keyboard Enter) while the frame shows
// success.
void RecordLabels(const LabelFlags& f) {
  std::vector<std::string> overrides = f.overrides;
  overrides.push_back("env.obs_mode=pixels");  // the classifier looks at camera frames
  TaskConfig config = TaskConfig::Load(f.task, overrides);
  auto env = MakeEnv(config);
  EpisodeWriter writer(f.out, DatasetInfo{env->name(), env->control_dt(), env->action_space().labels});
  std::optional<ProgressBar> bar;
  if (f.progress) bar.emplace("labels", f.episodes);
  int positives = 0, frames = 0;
  if (f.operator_name == "scripted") {
    auto expert = MakeExpert(config);
    Rng rng(f.seed ^ 0x1abe15ULL);
    const std::vector<int> grippers = GripperIndices(env->action_space());
    LabelOptions lo{[](const StepResult& r) { return r.info.count("success") && r.info.at("success") > 0.5; },
                    f.hold_steps};
    for (int e = 0; e < f.episodes; ++e) {
      const uint64_t seed = f.seed + static_cast<uint64_t>(e);
      const double u = rng.Uniform(0.0, 1.0);
      std::function<Action(Env&)> act;
      PolicyFn random = RandomPolicy(seed);
      expert->Reset(seed);
      if (u < f.random_share) {
        act = [&](Env& en) { return random(en, Observation()); };
      } else if (u < f.random_share + f.no_grasp_share && !grippers.empty()) {
        act = [&](Env& en) {
          Action a = ExpertActionFor(en, *expert);
          for (int g : grippers) a[g] = 1.0f;  // keep the grippers open: a near miss
          return a;
        };
      } else {
        act = [&](Env& en) { return ExpertActionFor(en, *expert); };
      }
      const Episode ep = RecordEpisode(*env, act, seed, false, &lo);
      for (uint8_t l : ep.labels) positives += l;
      frames += static_cast<int>(ep.labels.size());
      writer.Write(ep);
      if (bar) bar->Update(e + 1, fmt::format("{} success / {} frames", positives, frames));
    }
  } else {
    HumanOperator human(OpenTeleopDevice(f.operator_name));
    std::unique_ptr<SimViewer> viewer = OpenViewerIfPossible(*env);
    std::cout << fmt::format("recording with the {}: drive the robot; hold the success button while the scene shows "
                             "success (episodes end at the time limit)\n", human.device().name());
    LabelOptions lo{[&](const StepResult&) { return human.last_command().success; }, 0};
    const Action hold(env->action_space().size(), 0.0f);
    for (int e = 0; e < f.episodes; ++e) {
      const Episode ep = RecordEpisode(
          *env,
          [&](Env& en) {
            if (viewer) viewer->Show(en);
            return human.Decide(en, hold).action;
          },
          f.seed + static_cast<uint64_t>(e),
          /*realtime=*/true, &lo);
      for (uint8_t l : ep.labels) positives += l;
      frames += static_cast<int>(ep.labels.size());
      writer.Write(ep);
      if (bar) bar->Update(e + 1, fmt::format("{} success / {} frames", positives, frames));
    }
  }
  if (bar) bar->Finish();
  writer.Close();
  std::cout << fmt::format("wrote {} episodes, {} frames: {} success, {} failure -> {}\n", f.episodes, frames,
                           positives, frames - positives, f.out);
}

struct ClassifierFlags {
  std::vector<std::string> labels;
  std::string task = "pick_cube";
  std::vector<std::string> cameras;
  std::string encoder;  // "" = the task config's encoder.weights
  ClassifierOptions options;
  std::string out = "classifier";
  bool progress = true;
};

void TrainClassifier(const ClassifierFlags& f) {
  std::vector<Episode> episodes;
  for (const auto& path : f.labels) {
    auto eps = ReadEpisodes(path);
    for (auto& e : eps) episodes.push_back(std::move(e));
  }
  if (episodes.empty()) throw InvalidArgument("train-classifier: the label files hold no episodes");
  std::vector<std::string> cameras = f.cameras;
  if (cameras.empty()) {
    for (const auto& [name, img] : episodes.front().observations.front().images) cameras.push_back(name);
  }
  if (cameras.empty()) {
    throw InvalidArgument(fmt::format("'{}' holds no camera images (record it with `hilserl record-labels`)",
                                      f.labels.front()));
  }
  const int size = episodes.front().observations.front().GetImage(cameras.front()).height;
  std::string weights = f.encoder;
  int seed = 0;
  if (weights.empty()) {
    TaskConfig config = TaskConfig::Load(f.task);
    ConfigNode enc = config.Section("encoder");
    enc.Get("weights", &weights);
    enc.Get("seed", &seed);
  }
  if (!weights.empty()) weights = ResolvePath(weights);
  RewardClassifier clf(cameras, size, weights, static_cast<uint64_t>(seed), f.options);
  std::cout << fmt::format("encoding frames of {} episodes ({} cameras, {} augmented copies each)...\n",
                           episodes.size(), cameras.size(), f.options.augmentations);
  std::optional<ProgressBar> bar;
  const ClassifierReport r = clf.Train(episodes, [&](int step, double loss) {
    if (!f.progress) return;
    if (!bar) bar.emplace("classifier", f.options.steps);
    bar->Update(step, fmt::format("loss {:.4f}", loss));
  });
  if (bar) bar->Finish();
  clf.Save(f.out);
  std::cout << fmt::format("training frames {} ({} success, with augmented copies), held-out frames {} ({} success)\n",
                           r.train_frames, r.train_positive, r.test_frames, r.test_positive);
  std::cout << fmt::format("loss {:.4f} -> {:.4f}; accuracy: training {:.1f}%, held-out {:.1f}% (false positive rate "
                           "{:.1f}%, false negative rate {:.1f}%) at p = 0.5; {:.0f} s\n",
                           r.first_loss, r.final_loss, 100 * r.train_accuracy, 100 * r.test_accuracy,
                           100 * r.test_false_positive_rate, 100 * r.test_false_negative_rate, r.seconds);
  std::cout << fmt::format("wrote {} (train with it: --set reward_classifier.model={})\n", f.out, f.out);
}

}  // namespace

void AddClassifierCommands(CLI::App& app) {
  auto lf = std::make_shared<LabelFlags>();
  CLI::App* rec = app.add_subcommand(
      "record-labels",
      "Record camera frames labelled success/failure for the reward classifier (HDF5 episodes with labels).\n"
      "Example: hilserl record-labels --task pick_cube --operator scripted --episodes 40 --out labels.h5");
  rec->add_option("--task", lf->task, "Task name or YAML path")->capture_default_str();
  rec->add_option("--operator", lf->operator_name,
                  "scripted (labels from the simulator's success), spacemouse, gamepad or keyboard (a person "
                  "holds the success button)")
      ->check(CLI::IsMember({"scripted", "spacemouse", "gamepad", "keyboard"}))
      ->capture_default_str();
  rec->add_option("--episodes,-n", lf->episodes, "Episodes to record")->check(CLI::Range(1, 100000))->capture_default_str();
  rec->add_option("--hold-steps", lf->hold_steps, "Scripted: steps to keep recording after success")->capture_default_str();
  rec->add_option("--no-grasp-share", lf->no_grasp_share, "Scripted: share of near-miss episodes (gripper kept open)")
      ->capture_default_str();
  rec->add_option("--random-share", lf->random_share, "Scripted: share of random-action episodes")->capture_default_str();
  rec->add_option("--seed", lf->seed, "Seed of the first episode")->capture_default_str();
  rec->add_option("--out,-o", lf->out, "Output HDF5 file")->capture_default_str();
  rec->add_option("--set", lf->overrides, "Override a config value (section.key=value), repeatable");
  rec->add_flag("!--no-progress", lf->progress, "Do not draw a progress bar");
  rec->callback([lf] { RecordLabels(*lf); });

  auto cf = std::make_shared<ClassifierFlags>();
  CLI::App* tr = app.add_subcommand(
      "train-classifier",
      "Train the reward classifier (frozen ResNet-10 + head) on labelled frames; reports held-out accuracy.\n"
      "Example: hilserl train-classifier --labels labels.h5 --out runs/classifier");
  tr->add_option("--labels", cf->labels, "HDF5 files from record-labels (repeatable)")->required();
  tr->add_option("--task", cf->task, "Task whose encoder section gives the backbone weights")->capture_default_str();
  tr->add_option("--cameras", cf->cameras, "Cameras to use (default: all in the data)");
  tr->add_option("--encoder", cf->encoder, "ResNet-10 safetensors (default: the task's encoder.weights)");
  tr->add_option("--steps", cf->options.steps, "Optimisation steps")->capture_default_str();
  tr->add_option("--batch", cf->options.batch, "Frames per step, half success half failure")->capture_default_str();
  tr->add_option("--lr", cf->options.lr, "Adam learning rate")->capture_default_str();
  tr->add_option("--augmentations", cf->options.augmentations, "Randomly shifted copies per training frame")
      ->capture_default_str();
  tr->add_option("--shift-pad", cf->options.shift_pad, "Largest shift in pixels")->capture_default_str();
  tr->add_option("--holdout", cf->options.holdout, "Share of episodes held out")->capture_default_str();
  tr->add_option("--seed", cf->options.seed, "Seed")->capture_default_str();
  tr->add_option("--out,-o", cf->out, "Output directory")->capture_default_str();
  tr->add_flag("!--no-progress", cf->progress, "Do not draw a progress bar");
  tr->callback([cf] { TrainClassifier(*cf); });
}

}  // namespace hilserl::cli
