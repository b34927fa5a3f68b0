// `hilserl experiment`: runs a comparison of methods over tasks and seeds
// (experiments/experiment.h) and writes the results table and learning curves.
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "experiments/experiment.h"

namespace hilserl::cli {
namespace {

struct Flags {
  std::string spec;
  std::string out;
  std::vector<int> seeds;
  bool progress = true;
};

void Run(const Flags& f) {
  ExperimentSpec spec = ExperimentSpec::Load(f.spec);
  if (!f.seeds.empty()) spec.seeds = f.seeds;
  const std::string out = f.out.empty() ? "out/experiments/" + spec.name : f.out;
  std::cout << fmt::format("experiment {}: {} tasks x {} methods x {} seeds -> {}\n", spec.name, spec.tasks.size(),
                           spec.methods.size(), spec.seeds.size(), out)
            << std::flush;
  const ExperimentResult r = RunExperiment(spec, out, f.progress);
  std::cout << "results    " << r.table_path << " (and " << r.json_path << ")\n";
  for (const auto& p : r.plot_paths) std::cout << "plot       " << p << "\n";
}

}  // namespace

void AddExperimentCommand(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "experiment",
      "Compare methods (HIL-SERL, HG-DAgger, BC, ablations) over tasks and seeds: trains, evaluates, writes a\n"
      "markdown table and learning curves. Finished runs are kept: rerun to continue an interrupted experiment.\n"
      "Example: hilserl experiment configs/experiments/pick_cube_state.yaml");
  cmd->add_option("spec", f->spec, "Experiment YAML file (configs/experiments/)")->required();
  cmd->add_option("--out", f->out, "Output directory (default out/experiments/<name>)");
  cmd->add_option("--seeds", f->seeds, "Override the experiment's seeds");
  cmd->add_flag("!--no-progress", f->progress, "Do not draw progress bars");
  cmd->callback([f] { Run(*f); });
}

}  // namespace hilserl::cli
