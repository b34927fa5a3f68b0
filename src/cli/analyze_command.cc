// `hilserl analyze`: the paper's analysis plots of a training run (experiments/analysis.h):
// state-visitation heatmaps per checkpoint, Q value and Q variance over states, policy
// mean and std over time.
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "experiments/analysis.h"

namespace hilserl::cli {
namespace {

struct Flags {
  std::string run;
  std::string out;
  AnalysisOptions options;
};

void Run(const Flags& f) {
  const std::string out = f.out.empty() ? f.run + "/analysis" : f.out;
  const AnalysisResult r = AnalyzeRun(f.run, out, f.options);
  for (size_t i = 0; i < r.checkpoints.size(); ++i) {
    std::cout << fmt::format("{:<14} success {:5.1f}% over {} episodes\n", r.checkpoints[i], 100 * r.success_rates[i],
                             f.options.episodes);
  }
  std::cout << fmt::format("mean Q variance (Eq. 1) over the final policy's states: {:.3g}\n", r.mean_q_variance);
  for (const auto& p : r.files) std::cout << "wrote      " << p << "\n";
}

}  // namespace

void AddAnalyzeCommand(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "analyze",
      "Analysis plots of a run (paper Figs. 5-6): visitation heatmaps per checkpoint, Q and Q variance (Eq. 1)\n"
      "over visited states, policy mean/std over successful episodes.\n"
      "Example: hilserl analyze --run runs/pick --episodes 20");
  cmd->add_option("--run", f->run, "Run directory (with checkpoints/)")->required();
  cmd->add_option("--out", f->out, "Output directory (default <run>/analysis)");
  cmd->add_option("--episodes,-n", f->options.episodes, "Evaluation episodes per checkpoint")
      ->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--q-samples", f->options.q_samples, "Monte Carlo samples of Eq. 1")
      ->check(CLI::Range(2, 100000))->capture_default_str();
  cmd->add_option("--q-noise", f->options.q_noise, "Uniform action noise half-width of Eq. 1")->capture_default_str();
  cmd->add_option("--trajectories", f->options.trajectories, "Successful episodes in the policy std plot")
      ->capture_default_str();
  cmd->add_option("--axes", f->options.axes, "Two of x, y, z: the plane of the heatmaps")->capture_default_str();
  cmd->add_option("--grid", f->options.grid, "Heatmap bins per axis")->check(CLI::Range(4, 512))->capture_default_str();
  cmd->add_option("--seed", f->options.seed, "Seed of the first episode")->capture_default_str();
  cmd->add_flag("!--no-progress", f->options.progress, "Do not draw a progress bar");
  cmd->callback([f] { Run(*f); });
}

}  // namespace hilserl::cli
