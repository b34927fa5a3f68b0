#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/paths.h"
#include "experiments/analysis.h"
#include "experiments/experiment.h"
#include "experiments/plot.h"

namespace hilserl {
namespace {
namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

fs::path TempDir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("hilserl_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(PlotTest, LinePlotDrawsEverySeriesAndBreaksLinesAtNan) {
  const fs::path dir = TempDir("plot");
  plot::Series a{"HIL-SERL", {1, 2, 3, 4}, {0.1, 0.5, std::nan(""), 0.9}, {}, ""};
  plot::Series b{"HG-DAgger <x>", {1, 2, 3, 4}, {0.2, 0.2, 0.3, 0.3}, {0.05, 0.05, 0.05, 0.05}, ""};
  plot::WriteLinePlot((dir / "l.svg").string(), {{{"success", "episode", "rate", 0, 0, 0, 1}, {a, b}}});
  const std::string svg = Slurp((dir / "l.svg").string());
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(Count(svg, "<polyline"), 3u) << "series a is split by its NaN";
  EXPECT_EQ(Count(svg, "<polygon"), 1u) << "one band";
  EXPECT_NE(svg.find("HG-DAgger &lt;x&gt;"), std::string::npos) << "legend text is escaped";
  // An unnamed series is drawn but gets no legend entry (legend swatches are <line>s).
  plot::Series unnamed{"", {1, 2}, {0.4, 0.6}, {}, "#000000"};
  plot::WriteLinePlot((dir / "u.svg").string(), {{{"success", "episode", "rate", 0, 0, 0, 1}, {a, unnamed}}});
  const std::string usvg = Slurp((dir / "u.svg").string());
  EXPECT_EQ(Count(usvg, "<polyline"), 3u);
  EXPECT_EQ(Count(usvg, "stroke-width='2.5'"), 1u) << "one legend swatch, for the named series";
  EXPECT_EQ(plot::ColorMap(0.0), "#440154");
  EXPECT_EQ(plot::ColorMap(1.0), "#fde725");
  plot::HeatmapPanel bad;
  bad.nx = 2;
  bad.ny = 2;
  bad.values = {1, 2, 3};
  EXPECT_THROW(plot::WriteHeatmaps((dir / "h.svg").string(), {bad}), InternalError);
}

// The shipped task-suite comparison, shrunk to a smoke run (one seed, one demonstration,
// a hundred env steps, tiny networks): every task and method of the file runs and is in
// the table.
TEST(ExperimentTest, TaskSuiteComparisonRunsAsASmokeTest) {
  ExperimentSpec spec = ExperimentSpec::Load(ProjectRoot() + "/configs/experiments/suite_state.yaml");
  ASSERT_EQ(spec.tasks.size(), 6u);
  spec.seeds = {0};
  spec.demos = 1;
  spec.env_steps = 100;
  spec.task_env_steps.clear();
  spec.eval_episodes = 1;
  spec.overrides = {"agent.hidden=[16, 16]", "train.batch_size=16", "train.training_starts=50",
                    "train.checkpoint_every=50", "train.bc_steps=20"};
  for (auto& m : spec.methods) {
    m.seeds.clear();
    m.overrides.clear();
  }
  const fs::path dir = TempDir("suite_smoke");
  const ExperimentResult r = RunExperiment(spec, dir.string(), false);
  EXPECT_EQ(r.runs.size(), spec.tasks.size() * spec.methods.size());
  const std::string table = Slurp(r.table_path);
  for (const auto& t : spec.tasks) EXPECT_NE(table.find(t + " success"), std::string::npos) << t;
  for (const auto& m : spec.methods) EXPECT_NE(table.find("| " + m.label + " |"), std::string::npos) << m.label;
  EXPECT_NE(table.find("## Checkpoints"), std::string::npos);
}

TEST(ExperimentTest, SpecErrorsNameTheFileAndKey) {
  const std::string ok = "name: t\ntasks: [pick_cube]\nmethods:\n  a: {method: hil_serl}\n";
  const ExperimentSpec s = ExperimentSpec::FromYaml(ok, "t.yaml");
  ASSERT_EQ(s.methods.size(), 1u);
  EXPECT_EQ(s.methods[0].label, "a");
  EXPECT_EQ(s.demos, 20);
  try {
    ExperimentSpec::FromYaml(ok + "seedz: [1]\n", "t.yaml");
    FAIL() << "unknown key accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("t.yaml: unknown key 'seedz'"), std::string::npos) << e.what();
  }
  try {
    ExperimentSpec::FromYaml("tasks: [pick_cube]\nmethods:\n  b: {method: bc, demos: 0}\n", "u.yaml");
    FAIL() << "BC without demos accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("u.yaml: methods.b"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ExperimentSpec::FromYaml("tasks: [pick_cube]\nmethods:\n  c: {method: ppo}\n", "v.yaml"), InvalidArgument);
  EXPECT_THROW(ExperimentSpec::Load("/nonexistent/e.yaml"), NotFound);
}

TEST(ExperimentTest, CurvesAreRunningMeansOverTheWindow) {
  const fs::path dir = TempDir("curves");
  std::ofstream(dir / "episodes.csv") << "episode,env_step,return,length,success,intervened_steps,intervention_rate,wall_s\n"
                                         "1,10,0,10,0,5,0.5,1\n"
                                         "2,30,1,20,1,0,0.0,2\n"
                                         "3,40,1,10,1,0,0.0,3\n";
  const Curves c = ReadCurves((dir / "episodes.csv").string(), 0.1, 2);
  ASSERT_EQ(c.episode.size(), 3u);
  EXPECT_DOUBLE_EQ(c.success[0], 0.0);
  EXPECT_DOUBLE_EQ(c.success[1], 0.5);
  EXPECT_DOUBLE_EQ(c.success[2], 1.0);
  EXPECT_TRUE(std::isnan(c.cycle_time_s[0]));
  EXPECT_NEAR(c.cycle_time_s[1], 2.0, 1e-12);
  EXPECT_NEAR(c.cycle_time_s[2], 1.5, 1e-12);  // (2.0 + 1.0) / 2
  EXPECT_DOUBLE_EQ(c.intervention_rate[1], 0.25);
  // On a grid of env steps: the values of the last episode ended by each point.
  const Curves g = c.AtEnvSteps({5, 10, 35, 100});
  EXPECT_TRUE(std::isnan(g.success[0]));
  EXPECT_DOUBLE_EQ(g.success[1], 0.0);
  EXPECT_DOUBLE_EQ(g.success[2], 0.5);
  EXPECT_DOUBLE_EQ(g.success[3], 1.0);
  EXPECT_DOUBLE_EQ(g.episode[3], 3.0);
}

// A tiny comparison end to end (a few hundred steps, small networks): every method runs,
// the table names them, the curves exist, a rerun reuses the results, and the analysis of
// one run writes its plots.
TEST(ExperimentTest, SmallComparisonRunsEveryMethodAndAnalysisPlotsARun) {
  const fs::path dir = TempDir("experiment");
  const std::string yaml =
      "name: smoke\ntasks: [pick_cube]\nseeds: [0]\ndemos: 2\nenv_steps: 50\ntask_env_steps: {pick_cube: 150}\n"
      "eval_episodes: 2\ncheckpoint_evals: true\n"
      "set: [\"agent.hidden=[32, 32]\", train.batch_size=32, train.training_starts=50, train.checkpoint_every=100]\n"
      "methods:\n"
      "  hil_serl: {label: HIL-SERL, operator: scripted}\n"
      "  hg_dagger: {label: HG-DAgger, method: hg_dagger, operator: scripted, set: [train.bc_steps=50]}\n"
      "  bc: {label: BC, method: bc, seeds: [0], set: [train.bc_steps=50]}\n"
      "  no_demos: {label: no demos, demos: 0}\n";
  const ExperimentSpec spec = ExperimentSpec::FromYaml(yaml, "smoke.yaml");
  const ExperimentResult r = RunExperiment(spec, dir.string(), false);
  ASSERT_EQ(r.runs.size(), 4u);
  for (const auto& run : r.runs) {
    EXPECT_GE(run.success_rate, 0.0);
    EXPECT_LE(run.success_rate, 1.0);
  }
  const std::string table = Slurp(r.table_path);
  for (const char* label : {"| HIL-SERL |", "| HG-DAgger |", "| BC |", "| no demos |"}) {
    EXPECT_NE(table.find(label), std::string::npos) << label << "\n" << table;
  }
  // The per-task budget, and the checkpoint at 100 steps evaluated beside the final one.
  for (const auto& run : r.runs) {
    if (run.method_id != "bc") {
      EXPECT_EQ(run.env_steps, 150) << run.method_id;
    }
  }
  EXPECT_EQ(r.runs[0].checkpoints.size(), 1u);
  EXPECT_NE(table.find("## Checkpoints"), std::string::npos) << table;
  ASSERT_EQ(r.plot_paths.size(), 2u);  // against env steps and against training episodes
  for (const auto& p : r.plot_paths) EXPECT_EQ(Count(Slurp(p), "<svg"), 1u) << p;
  EXPECT_NE(Slurp(r.plot_paths[0]).find("env step"), std::string::npos);
  const fs::path eval = dir / "pick_cube" / "hil_serl" / "seed_0" / "eval.json";
  const auto stamp = fs::last_write_time(eval);
  RunExperiment(spec, dir.string(), false);
  EXPECT_EQ(fs::last_write_time(eval), stamp) << "a finished run was run again";

  AnalysisOptions ao;
  ao.episodes = 2;
  ao.q_samples = 8;
  ao.progress = false;
  const AnalysisResult a = AnalyzeRun((dir / "pick_cube" / "hil_serl" / "seed_0" / "run").string(),
                                      (dir / "analysis").string(), ao);
  EXPECT_EQ(a.checkpoints.back(), "final");
  EXPECT_GE(a.checkpoints.size(), 2u) << "a periodic checkpoint and the final one";
  EXPECT_TRUE(std::isfinite(a.mean_q_variance));
  EXPECT_GE(a.mean_q_variance, 0.0);
  for (const auto& f : a.files) EXPECT_TRUE(fs::exists(f)) << f;
  EXPECT_THROW(AnalyzeRun((dir / "nothing").string(), (dir / "x").string(), ao), NotFound);
}

}  // namespace
}  // namespace hilserl
