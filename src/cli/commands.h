// One function per subcommand; each lives in its own file and adds itself to the app.
#pragma once

#include <CLI/CLI.hpp>

namespace hilserl {
struct RolloutOptions;
struct RolloutSummary;
}  // namespace hilserl

namespace hilserl::cli {

void AddRolloutCommand(CLI::App& app);
void AddTasksCommand(CLI::App& app);
void AddRecordDemosCommand(CLI::App& app);
void AddTrainCommand(CLI::App& app);
void AddEvalCommand(CLI::App& app);
void AddPretrainEncoderCommand(CLI::App& app);
void AddClassifierCommands(CLI::App& app);
void AddActorCommand(CLI::App& app);
void AddExperimentCommand(CLI::App& app);
void AddAnalyzeCommand(CLI::App& app);

// --perturb / --perturb-step (eval and rollout), and what they report.
void AddPerturbOptions(CLI::App* cmd, RolloutOptions* options);
int CountPerturbed(const RolloutSummary& summary);
void PrintPerturbation(const RolloutOptions& options, const RolloutSummary& summary);

}  // namespace hilserl::cli
