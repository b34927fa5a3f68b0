// `hilserl pretrain-encoder`: self-supervised (contrastive) pretraining of the ResNet-10
// backbone on the user's own frames, written as a safetensors file for `encoder.weights`.
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/episode_dataset.h"
#include "nn/pretrain.h"
#include "runtime/rollout.h"
#include "wrappers/make_env.h"

namespace hilserl::cli {
namespace {

struct Flags {
  std::vector<std::string> frames;  // HDF5 episode files with images
  std::string task = "pick_cube";
  int episodes = 20;                // rendered episodes when no --frames are given
  double noise = 0.01;              // expert action noise (m) for rendered episodes
  std::string out = "encoder.safetensors";
  nn::PretrainOptions options;
  std::vector<std::string> overrides;
  bool progress = true;
};

std::vector<Image> FramesFromFiles(const std::vector<std::string>& paths) {
  std::vector<Image> frames;
  for (const auto& path : paths) {
    const size_t before = frames.size();
    for (const Episode& ep : ReadEpisodes(path)) {
      for (const Observation& o : ep.observations) {
        for (const auto& [cam, img] : o.images) frames.push_back(img);
      }
    }
    if (frames.size() == before) {
      throw InvalidArgument(fmt::format("'{}' holds no camera images (record it with --obs pixels)", path));
    }
  }
  return frames;
}

// Frames of every camera along scripted-expert episodes with action noise: the scenes
// the policy will see, including near-misses.
std::vector<Image> FramesFromTask(const Flags& f) {
  std::vector<std::string> overrides = f.overrides;
  overrides.push_back("env.obs_mode=pixels");
  overrides.push_back(fmt::format("expert.action_noise={}", f.noise));
  TaskConfig config = TaskConfig::Load(f.task, overrides);
  auto env = MakeEnv(config);
  auto expert = MakeExpert(config);
  std::vector<Image> frames;
  std::optional<ProgressBar> bar;
  if (f.progress) bar.emplace("render", f.episodes);
  for (int i = 0; i < f.episodes; ++i) {
    const Episode ep = RecordExpertEpisode(*env, *expert, 5000000 + static_cast<uint64_t>(i));
    for (const Observation& o : ep.observations) {
      for (const auto& [cam, img] : o.images) frames.push_back(img);
    }
    if (bar) bar->Update(i + 1, fmt::format("{} frames", frames.size()));
  }
  if (bar) bar->Finish();
  return frames;
}

void Run(const Flags& f) {
  const std::vector<Image> frames = f.frames.empty() ? FramesFromTask(f) : FramesFromFiles(f.frames);
  std::cout << fmt::format("pretraining ResNet-10 on {} frames ({}x{}): {} steps of {} frames at {}x{}\n",
                           frames.size(), frames.front().height, frames.front().width, f.options.steps,
                           f.options.batch, f.options.train_size, f.options.train_size)
            << std::flush;
  std::optional<ProgressBar> bar;
  if (f.progress) bar.emplace("pretrain", f.options.steps);
  const nn::PretrainResult r = nn::PretrainBackbone(frames, f.options, [&](int step, double loss, double acc) {
    if (bar) bar->Update(step, fmt::format("loss {:.3f} twin accuracy {:.2f}", loss, acc));
  });
  if (bar) bar->Finish();
  nn::SaveSafetensors(f.out, r.backbone,
                      {{"format", "resnet10"},
                       {"source", fmt::format("hilserl pretrain-encoder, {} frames, {} steps", frames.size(),
                                              f.options.steps)}});
  std::cout << fmt::format("contrastive loss {:.3f} -> {:.3f}, twin accuracy {:.2f} -> {:.2f} ({:.0f} s)\n",
                           r.first_loss, r.final_loss, r.first_accuracy, r.final_accuracy, r.seconds);
  std::cout << fmt::format("wrote {} (use it with --set encoder.weights={})\n", f.out, f.out);
}

}  // namespace

void AddPretrainEncoderCommand(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "pretrain-encoder",
      "Self-supervised (contrastive) pretraining of the ResNet-10 image backbone on your own frames.\n"
      "Example: hilserl pretrain-encoder --frames demos.h5 --steps 300 --out encoder.safetensors");
  cmd->add_option("--frames", f->frames, "HDF5 episode files with camera images (repeatable)");
  cmd->add_option("--task", f->task, "Without --frames: render frames of this task's scripted expert")
      ->capture_default_str();
  cmd->add_option("--episodes,-n", f->episodes, "Without --frames: episodes to render")->capture_default_str();
  cmd->add_option("--steps", f->options.steps, "Optimisation steps")->check(CLI::Range(1, 1000000))->capture_default_str();
  cmd->add_option("--batch", f->options.batch, "Frames per step (two views each)")->check(CLI::Range(2, 4096))
      ->capture_default_str();
  cmd->add_option("--train-size", f->options.train_size, "Training resolution (multiple of 32)")->capture_default_str();
  cmd->add_option("--lr", f->options.lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--seed", f->options.seed, "Seed")->capture_default_str();
  cmd->add_option("--out,-o", f->out, "Output safetensors file")->capture_default_str();
  cmd->add_option("--set", f->overrides, "Override a task config value when rendering (section.key=value)");
  cmd->add_flag("!--no-progress", f->progress, "Do not draw a progress bar");
  cmd->callback([f] { Run(*f); });
}

}  // namespace hilserl::cli
