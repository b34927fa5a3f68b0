#include "runtime/rollout.h"

#include <chrono>
#include <memory>
#include <ostream>
#include <filesystem>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/progress.h"
#include "core/rng.h"
#include "runtime/video.h"

namespace hilserl {

PolicyFn ExpertPolicy(ScriptedExpert* expert) {
  return [expert](Env& env, const Observation&) {
    return ExpertActionFor(env, *expert);
  };
}

PolicyFn TracedPolicy(PolicyFn inner, int every, std::ostream& out) {
  auto step = std::make_shared<int>(0);
  return [inner, every, step, &out](Env& env, const Observation& obs) {
    const Action a = inner(env, obs);
    if (*step % every == 0) {
      std::string line = fmt::format("step {:3d}", *step);
      for (const auto& [k, v] : env.privileged_state()) {
        if (v.size() > 4 || k == "time" || k.find("home_") != std::string::npos) continue;
        line += fmt::format(" {} [{:.3f}]", k, fmt::join(v, ", "));
      }
      line += fmt::format(" action [{:.2f}]", fmt::join(a, ", "));
      out << line << "\n";
    }
    ++*step;
    return a;
  };
}

PolicyFn RandomPolicy(uint64_t seed) {
  auto rng = std::make_shared<Rng>(seed);
  return [rng](Env& env, const Observation&) {
    const VectorSpace& s = env.action_space();
    Action a(s.size());
    for (int i = 0; i < s.size(); ++i) a[i] = static_cast<float>(rng->Uniform(s.low[i], s.high[i]));
    return a;
  };
}

PolicyFn NoisyExpertPolicy(ScriptedExpert* expert, double noise, uint64_t seed) {
  auto rng = std::make_shared<Rng>(seed ^ 0x7a3e0ffULL);
  return [expert, noise, rng](Env& env, const Observation&) {
    Action a = ExpertActionFor(env, *expert);
    const VectorSpace& space = env.action_space();
    for (int i = 0; i < space.size(); ++i) {
      a[i] = static_cast<float>(a[i] + noise * 0.5 * (space.high[i] - space.low[i]) * rng->Normal());
    }
    return space.Clip(a);
  };
}

Episode RecordExpertEpisode(Env& env, ScriptedExpert& expert, uint64_t seed) {
  expert.Reset(seed);
  return RecordEpisode(env, [&](Env& e) { return ExpertActionFor(e, expert); }, seed);
}

Episode RecordEpisode(Env& env, const std::function<Action(Env&)>& act, uint64_t seed, bool realtime,
                      const LabelOptions* labels) {
  Episode ep;
  ep.seed = seed;
  ep.observations.push_back(env.Reset(seed));
  if (labels) ep.labels.push_back(0);
  auto tick = std::chrono::steady_clock::now();
  int held = 0;
  while (true) {
    const Action a = act(env);
    if (realtime) {
      tick += std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(env.control_dt()));
      std::this_thread::sleep_until(tick);
    }
    StepResult r = env.Step(a);
    const bool success = r.info.count("success") && r.info.at("success") > 0.5;
    ep.success = ep.success || success;
    if (labels) ep.labels.push_back(labels->label(r) ? 1 : 0);
    ep.actions.push_back(a);
    ep.rewards.push_back(static_cast<float>(r.reward));
    ep.grasp_penalty.push_back(r.info.count("grasp_penalty") ? static_cast<float>(r.info.at("grasp_penalty")) : 0.f);
    ep.truncated.push_back(r.truncated);
    ep.intervened.push_back(1);
    ep.observations.push_back(std::move(r.observation));
    const bool holding = labels && r.terminated && held++ < labels->hold_steps;
    ep.terminated.push_back(r.terminated && !holding);
    if ((r.terminated && !holding) || r.truncated) return ep;
  }
}

namespace {

std::vector<std::string> VideoCameras(Env& env, const RolloutOptions& o) {
  if (!o.cameras.empty()) return o.cameras;
  std::vector<std::string> cams;
  for (const auto& img : env.observation_spec().images) cams.push_back(img.name);
  if (cams.empty()) cams = env.camera_names();
  return cams;
}

}  // namespace

RolloutSummary RunRollouts(Env& env, const PolicyFn& policy, const RolloutOptions& o,
                           const std::function<void(uint64_t)>& on_reset) {
  RolloutSummary summary;
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<VideoWriter> video;
  if (!o.video_path.empty()) video = std::make_unique<VideoWriter>(o.video_path, 1.0 / env.control_dt());
  if (!o.frames_dir.empty()) std::filesystem::create_directories(o.frames_dir);
  const std::vector<std::string> cams =
      (video || !o.frames_dir.empty()) ? VideoCameras(env, o) : std::vector<std::string>{};

  auto record = [&](int episode, int step, const std::string& label) {
    if (cams.empty()) return;
    std::vector<Image> views;
    for (const auto& c : cams) views.push_back(env.RenderCamera(c, o.video_size, o.video_size));
    if (!o.frames_dir.empty()) {
      for (size_t i = 0; i < cams.size(); ++i) {
        WritePng(views[i], fmt::format("{}/ep{:03d}_step{:03d}_{}.png", o.frames_dir, episode, step, cams[i]));
      }
    }
    if (video) {
      Image frame = TileHorizontally(views);
      DrawLabel(&frame, label);
      video->Add(frame);
    }
  };

  std::optional<ProgressBar> bar;
  if (o.progress) bar.emplace("rollout", o.episodes);
  int successes = 0;
  double cycle_sum = 0.0, return_sum = 0.0;
  for (int ep = 0; ep < o.episodes; ++ep) {
    EpisodeResult r;
    r.seed = o.seed + static_cast<uint64_t>(ep);
    if (on_reset) on_reset(r.seed);
    Observation obs = env.Reset(r.seed);
    record(ep, 0, fmt::format("{} episode {} step 0", env.name(), ep));
    while (true) {
      if (!o.perturb.empty() && r.steps == o.perturb_step) r.perturbed = env.Perturb(o.perturb, r.seed);
      StepResult step = env.Step(policy(env, obs));
      ++r.steps;
      r.episode_return += step.reward;
      obs = std::move(step.observation);
      const bool success = step.info.count("success") && step.info.at("success") > 0.5;
      record(ep, r.steps, fmt::format("{} episode {} step {}{}", env.name(), ep, r.steps,
                                      success ? "  SUCCESS" : ""));
      if (step.terminated || step.truncated) {
        r.success = success;
        break;
      }
    }
    r.duration_s = r.steps * env.control_dt();
    summary.total_steps += r.steps;
    if (r.success) {
      ++successes;
      cycle_sum += r.duration_s;
    }
    return_sum += r.episode_return;
    summary.episodes.push_back(r);
    if (o.progress) {
      bar->Update(ep + 1, fmt::format("success {:.2f}", static_cast<double>(successes) / (ep + 1)));
    }
  }
  if (o.progress) bar->Finish(fmt::format("success {:.2f}", o.episodes ? static_cast<double>(successes) / o.episodes : 0.0));
  if (video) video->Close();
  const int n = static_cast<int>(summary.episodes.size());
  summary.success_rate = n ? static_cast<double>(successes) / n : 0.0;
  summary.mean_cycle_time_s = successes ? cycle_sum / successes : 0.0;
  summary.mean_return = n ? return_sum / n : 0.0;
  summary.wall_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace hilserl
