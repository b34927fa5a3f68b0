// Comparisons in the style of the paper's evaluation (the paper: Tables 1-2,
// Fig. 3): several methods x tasks x seeds under one human-data budget, each trained,
// evaluated on the same randomised starts, and summarised in a markdown table and
// learning-curve plots.
//
// An experiment file (configs/experiments/<name>.yaml):
//   name: pick_cube_state
//   tasks: [pick_cube]            # task names or YAML paths
//   obs: state                    # state or pixels
//   seeds: [0, 1, 2]
//   demos: 20                     # scripted demos per seed (a method may override)
//   env_steps: 20000              # interactive methods' budget
//   eval_episodes: 100
//   set: [train.checkpoint_every=5000]   # --set overrides for every run
//   methods:                      # id -> what runs
//     hil_serl:  {label: HIL-SERL, method: hil_serl, operator: scripted}
//     hg_dagger: {label: HG-DAgger, method: hg_dagger, operator: scripted}
//     bc:        {label: BC, method: bc, set: [train.bc_steps=5000]}
//     no_demos:  {label: "RL, no demos, no interventions", method: hil_serl, demos: 0}
// Unknown keys are errors naming the file and key.
//
// Results go to <out>/<task>/<method id>/seed_<s>/ (the run directory plus eval.json);
// a run whose eval.json exists is not run again, so an interrupted experiment continues
// where it stopped. <out>/results.md (table: success rate and cycle time per method and
// task, mean +- std over seeds, intervened steps, wall time), results.json and
// curves_<task>.svg (Fig. 3: success rate, cycle time and intervention rate against env
// steps, running mean over 20 episodes, mean over seeds with a +- std band;
// curves_<task>_by_episode.svg the same against training episodes).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace hilserl {

struct ExperimentMethod {
  std::string id, label;
  std::string method = "hil_serl";  // train.method
  std::string operator_name = "none";  // "scripted" or "none"
  int demos = -1;                   // -1 = the experiment's
  std::vector<int> seeds;           // empty = the experiment's (e.g. fewer seeds for baselines)
  std::vector<std::string> overrides;
};

struct ExperimentSpec {
  std::string name;
  std::vector<std::string> tasks;
  std::string obs = "state";
  std::vector<int> seeds = {0};
  int demos = 20;
  int env_steps = 20000;
  std::map<std::string, int> task_env_steps;  // per-task budgets instead of env_steps
  int eval_episodes = 100;
  // Also evaluate every intermediate checkpoint (train.checkpoint_every) of the
  // interactive methods: the table then shows the best and the last (final) checkpoint.
  bool checkpoint_evals = false;

  int EnvSteps(const std::string& task) const {
    auto it = task_env_steps.find(task);
    return it == task_env_steps.end() ? env_steps : it->second;
  }
  const std::vector<int>& SeedsOf(const ExperimentMethod& m) const { return m.seeds.empty() ? seeds : m.seeds; }
  std::vector<std::string> overrides;
  std::vector<ExperimentMethod> methods;

  // Parses an experiment file; throws NotFound / InvalidArgument naming file and key.
  static ExperimentSpec Load(const std::string& path);
  static ExperimentSpec FromYaml(const std::string& text, const std::string& source);
};

// One (task, method, seed) run's outcome.
struct RunOutcome {
  std::string task, method_id;
  int seed = 0;
  double success_rate = 0, cycle_time_s = 0;  // evaluation (cycle time NaN without successes)
  // (env step, success rate) of every intermediate checkpoint evaluated (checkpoint_evals)
  std::vector<std::pair<int64_t, double>> checkpoints;
  int64_t env_steps = 0, intervened_steps = 0;
  double wall_time_s = 0;
};

struct ExperimentResult {
  std::vector<RunOutcome> runs;
  std::string table_path, json_path;
  std::vector<std::string> plot_paths;
};

// Runs every missing (task, method, seed) in order and writes the summary files.
ExperimentResult RunExperiment(const ExperimentSpec& spec, const std::string& out_dir, bool progress);

// Learning curves of one run (episodes.csv): per episode index, the running mean over the
// last `window` episodes of success, of cycle time (successful episodes among them; NaN
// if none) and of the intervention rate.
struct Curves {
  std::vector<double> episode, env_step, success, cycle_time_s, intervention_rate;
  // The curves on a grid of env steps: at each grid point the running values of the last
  // episode that had ended by then (NaN before the first one).
  Curves AtEnvSteps(const std::vector<double>& grid) const;
};
Curves ReadCurves(const std::string& episodes_csv, double control_dt, int window = 20);

}  // namespace hilserl
