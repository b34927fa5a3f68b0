#include "experiments/analysis.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/error.h"
#include "core/progress.h"
#include "experiments/plot.h"
#include "runtime/trainer.h"

namespace hilserl {
namespace fs = std::filesystem;

namespace {

// The first arm's tcp position in the privileged state ("tcp_pos" or "<arm>_tcp_pos").
Eigen::Vector3d TcpPosition(const StateMap& s) {
  auto it = s.find("tcp_pos");
  if (it == s.end()) {
    for (const auto& [k, v] : s) {
      if (k.size() > 8 && k.compare(k.size() - 8, 8, "_tcp_pos") == 0) {
        it = s.find(k);
        break;
      }
    }
  }
  if (it == s.end() || it->second.size() != 3) {
    throw InvalidArgument("analysis needs a simulated arm task (privileged state 'tcp_pos')");
  }
  return Eigen::Vector3d(it->second[0], it->second[1], it->second[2]);
}

struct Step {
  double a = 0, b = 0;  // the two plotted tcp coordinates
  std::vector<float> mean, std;
  double q = std::nan(""), q_var = std::nan("");
};

struct EpisodeTrace {
  bool success = false;
  std::vector<Step> steps;
};

}  // namespace

AnalysisResult AnalyzeRun(const std::string& run_dir, const std::string& out_dir, const AnalysisOptions& o) {
  if (o.axes.size() != 2 || o.axes.find_first_not_of("xyz") != std::string::npos || o.axes[0] == o.axes[1]) {
    throw InvalidArgument(fmt::format("analysis: axes must be two of x, y, z (e.g. yz), got '{}'", o.axes));
  }
  const int ia = o.axes[0] - 'x', ib = o.axes[1] - 'x';
  // Checkpoints in training order: step_* by number, then final.
  const fs::path ckdir = fs::path(run_dir) / "checkpoints";
  std::vector<std::pair<int64_t, fs::path>> found;
  if (fs::is_directory(ckdir)) {
    for (const auto& e : fs::directory_iterator(ckdir)) {
      const std::string n = e.path().filename().string();
      if (n.rfind("step_", 0) == 0) found.emplace_back(std::stoll(n.substr(5)), e.path());
      if (n == "final") found.emplace_back(std::numeric_limits<int64_t>::max(), e.path());
    }
  }
  if (found.empty()) throw NotFound(fmt::format("no checkpoints in '{}' (expected step_*/ or final/)", ckdir.string()));
  std::sort(found.begin(), found.end());

  AnalysisResult result;
  std::vector<std::vector<EpisodeTrace>> traces;
  std::optional<ProgressBar> bar;
  if (o.progress) bar.emplace("analyze", static_cast<int64_t>(found.size()) * o.episodes);
  int done = 0;
  VectorSpace final_action_space;  // of the final checkpoint's env: names the plotted components
  for (size_t c = 0; c < found.size(); ++c) {
    const bool last = c + 1 == found.size();
    LoadedPolicy p = LoadCheckpoint(found[c].second.string());
    auto input = AgentInputFn(*p.env, *p.agent, p.backbone.get());
    if (last) final_action_space = p.env->action_space();
    torch::manual_seed(o.seed);
    std::vector<EpisodeTrace> eps;
    int wins = 0;
    for (int e = 0; e < o.episodes; ++e) {
      EpisodeTrace tr;
      Observation obs = p.env->Reset(o.seed + static_cast<uint64_t>(e));
      while (true) {
        const Eigen::Vector3d tcp = TcpPosition(p.env->privileged_state());
        Step st;
        st.a = tcp[ia];
        st.b = tcp[ib];
        const torch::Tensor row = input(obs);
        if (last) {
          const nn::PolicyOutput d = p.agent->Distribution(row);
          st.mean.assign(d.mean.data_ptr<float>(), d.mean.data_ptr<float>() + d.mean.numel());
          st.std.assign(d.std.data_ptr<float>(), d.std.data_ptr<float>() + d.std.numel());
          const auto [q, var] = p.agent->QUnderActionNoise(row, o.q_samples, o.q_noise);
          st.q = q;
          st.q_var = var;
        }
        tr.steps.push_back(std::move(st));
        const torch::Tensor a = p.agent->Act(row, true);
        StepResult r = p.env->Step(Action(a.data_ptr<float>(), a.data_ptr<float>() + a.size(1)));
        obs = std::move(r.observation);
        if (r.terminated || r.truncated) {
          tr.success = r.info.count("success") && r.info.at("success") > 0.5;
          break;
        }
      }
      wins += tr.success ? 1 : 0;
      eps.push_back(std::move(tr));
      if (bar) bar->Update(++done, fmt::format("{}", found[c].second.filename().string()));
    }
    result.checkpoints.push_back(found[c].second.filename().string());
    result.success_rates.push_back(static_cast<double>(wins) / o.episodes);
    traces.push_back(std::move(eps));
  }
  if (bar) bar->Finish();

  // ---- visitation heatmaps on a common grid
  double a0 = std::numeric_limits<double>::infinity(), a1 = -a0, b0 = a0, b1 = -a0;
  for (const auto& eps : traces) {
    for (const auto& tr : eps) {
      for (const auto& st : tr.steps) {
        a0 = std::min(a0, st.a), a1 = std::max(a1, st.a), b0 = std::min(b0, st.b), b1 = std::max(b1, st.b);
      }
    }
  }
  const double pad_a = 0.05 * std::max(1e-3, a1 - a0), pad_b = 0.05 * std::max(1e-3, b1 - b0);
  a0 -= pad_a, a1 += pad_a, b0 -= pad_b, b1 += pad_b;
  const std::string la = std::string("tcp ") + o.axes[0] + " (m)", lb = std::string("tcp ") + o.axes[1] + " (m)";
  std::vector<plot::HeatmapPanel> heat;
  nlohmann::json j;
  j["axes"] = o.axes;
  j["grid"] = {{"bins", o.grid}, {"a", {a0, a1}}, {"b", {b0, b1}}};
  for (size_t c = 0; c < traces.size(); ++c) {
    plot::HeatmapPanel h;
    h.axes = {fmt::format("{} ({:.0f}% success)", result.checkpoints[c], 100 * result.success_rates[c]), la, lb, a0,
              a1, b0, b1};
    h.nx = h.ny = o.grid;
    h.values.assign(static_cast<size_t>(o.grid) * o.grid, 0.0);
    for (const auto& tr : traces[c]) {
      for (const auto& st : tr.steps) {
        const int x = std::clamp(static_cast<int>((st.a - a0) / (a1 - a0) * o.grid), 0, o.grid - 1);
        const int y = std::clamp(static_cast<int>((st.b - b0) / (b1 - b0) * o.grid), 0, o.grid - 1);
        h.values[static_cast<size_t>(y) * o.grid + x] += 1.0;
      }
    }
    j["checkpoints"].push_back({{"name", result.checkpoints[c]}, {"success_rate", result.success_rates[c]},
                                {"counts", h.values}});
    heat.push_back(std::move(h));
  }
  fs::create_directories(out_dir);
  const std::string heat_path = (fs::path(out_dir) / fmt::format("visitation_{}.svg", o.axes)).string();
  plot::WriteHeatmaps(heat_path, heat);
  result.files.push_back(heat_path);

  // ---- Q value and Q variance over the final policy's states
  plot::ScatterPanel qp, vp;
  qp.axes = {"Q(s, pi(s)) at visited states", la, lb, a0, a1, b0, b1};
  vp.axes = {fmt::format("Q variance (Eq. 1, noise {:.1f}, {} samples)", o.q_noise, o.q_samples), la, lb, a0, a1, b0, b1};
  qp.value_label = "Q";
  vp.value_label = "Var Q";
  double var_sum = 0;
  int var_n = 0;
  for (const auto& tr : traces.back()) {
    for (const auto& st : tr.steps) {
      qp.x.push_back(st.a), qp.y.push_back(st.b), qp.value.push_back(st.q);
      vp.x.push_back(st.a), vp.y.push_back(st.b), vp.value.push_back(st.q_var);
      j["final_states"].push_back({st.a, st.b, st.q, st.q_var});
      if (std::isfinite(st.q_var)) {
        var_sum += st.q_var;
        ++var_n;
      }
    }
  }
  result.mean_q_variance = var_n > 0 ? var_sum / var_n : std::nan("");
  const std::string q_path = (fs::path(out_dir) / "q_scatter.svg").string();
  plot::WriteScatterPlot(q_path, {qp, vp});
  result.files.push_back(q_path);

  // ---- policy mean and std over time, a few successful episodes of the final policy
  plot::LinePanel mean_panel{{"policy mean (tanh) per action component", "step", "normalised action", 0, 0, -1.05, 1.05}, {}};
  plot::LinePanel std_panel{{"policy std (pre-tanh) per action component", "step", "std", 0, 0, 0, 0}, {}};
  // One colour per action component (named in the legend once), one line per episode.
  const std::vector<int> continuous = ContinuousIndices(final_action_space);
  int shown = 0;
  for (const auto& tr : traces.back()) {
    if (!tr.success || shown >= o.trajectories) continue;
    const size_t dims = tr.steps.empty() ? 0 : tr.steps[0].mean.size();
    for (size_t d = 0; d < dims; ++d) {
      std::string name;
      if (shown == 0) {
        name = dims == continuous.size() ? final_action_space.labels[static_cast<size_t>(continuous[d])]
                                         : fmt::format("a{}", d);
      }
      plot::Series m{name, {}, {}, {}, plot::PaletteColor(d)}, s = m;
      for (size_t t = 0; t < tr.steps.size(); ++t) {
        m.x.push_back(static_cast<double>(t));
        m.y.push_back(tr.steps[t].mean[d]);
        s.x.push_back(static_cast<double>(t));
        s.y.push_back(tr.steps[t].std[d]);
      }
      mean_panel.series.push_back(m);
      std_panel.series.push_back(s);
    }
    nlohmann::json ep;
    for (const auto& st : tr.steps) ep.push_back({{"mean", st.mean}, {"std", st.std}});
    j["trajectories"].push_back(ep);
    ++shown;
  }
  const std::string std_path = (fs::path(out_dir) / "policy_std.svg").string();
  plot::WriteLinePlot(std_path, {mean_panel, std_panel}, 520, 320);
  result.files.push_back(std_path);
  j["mean_q_variance"] = result.mean_q_variance;
  const std::string json_path = (fs::path(out_dir) / "analysis.json").string();
  std::ofstream(json_path) << j.dump() << "\n";
  result.files.push_back(json_path);
  return result;
}

}  // namespace hilserl
