// The paper's analysis of what a trained policy and critic look like (the paper;
// section 1; Figs. 5 and 6), from a run directory's checkpoints:
//  - visitation_<axes>.svg: end-effector state-visitation heatmaps (the first arm's tcp,
//    two world axes, y/z by default), one panel per checkpoint: the "funnel" that narrows
//    as training goes on;
//  - q_scatter.svg: at the states visited by the final policy, Q(s, pi(s)) and the
//    Q variance of Eq. 1 (uniform action noise in [-noise, noise] on the normalised
//    action, `q_samples` Monte Carlo samples), as scatter plots over the same two axes;
//  - policy_std.svg: the policy's mean and standard deviation over time along a few
//    successful episodes of the final policy (near 0 for open-loop dynamic tasks, high then
//    shrinking for reactive precise ones);
//  - analysis.json: the numbers behind the plots (per checkpoint success rate, grid counts,
//    per state Q and variance, per step mean and std).
// Episodes are evaluation episodes (deterministic policy) from `seed`.
#pragma once

#include <string>
#include <vector>

namespace hilserl {

struct AnalysisOptions {
  int episodes = 20;          // evaluation episodes per checkpoint
  int q_samples = 100;        // Eq. 1 Monte Carlo samples
  double q_noise = 0.2;       // Eq. 1 uniform noise half-width
  int trajectories = 3;       // successful episodes for the policy mean/std plot
  int grid = 32;              // heatmap bins per axis
  std::string axes = "yz";    // two of x, y, z: the plane of the heatmaps and scatter plots
  uint64_t seed = 2000000;
  bool progress = true;
};

struct AnalysisResult {
  std::vector<std::string> checkpoints;  // analysed, in training order
  std::vector<double> success_rates;     // per checkpoint
  std::vector<std::string> files;        // written
  double mean_q_variance = 0;            // final checkpoint, over visited states
};

// Throws NotFound if run_dir has no checkpoints.
AnalysisResult AnalyzeRun(const std::string& run_dir, const std::string& out_dir, const AnalysisOptions& options);

}  // namespace hilserl
