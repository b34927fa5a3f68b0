#include "experiments/experiment.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "data/episode_dataset.h"
#include "experiments/plot.h"
#include "runtime/trainer.h"

namespace hilserl {
namespace fs = std::filesystem;

// ---- spec ----

namespace {

void CheckKeys(const YAML::Node& node, const std::set<std::string>& known, const std::string& where) {
  if (!node.IsMap()) throw InvalidArgument(fmt::format("{}: expected a mapping", where));
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw InvalidArgument(fmt::format("{}: unknown key '{}' (known: {})", where, key, list));
    }
  }
}

template <typename T>
T Read(const YAML::Node& node, const std::string& key, const T& fallback, const std::string& where) {
  if (!node[key]) return fallback;
  try {
    return node[key].as<T>();
  } catch (const YAML::Exception& e) {
    throw InvalidArgument(fmt::format("{}: key '{}' has the wrong type ({})", where, key, e.msg));
  }
}

}  // namespace

ExperimentSpec ExperimentSpec::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw NotFound(fmt::format("experiment file '{}' not found", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return FromYaml(ss.str(), path);
}

ExperimentSpec ExperimentSpec::FromYaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InvalidArgument(fmt::format("{}: YAML error at line {}: {}", source, e.mark.line + 1, e.msg));
  }
  CheckKeys(root, {"name", "tasks", "obs", "seeds", "demos", "env_steps", "task_env_steps", "eval_episodes",
                   "checkpoint_evals", "set", "methods"},
            source);
  ExperimentSpec s;
  s.name = Read<std::string>(root, "name", fs::path(source).stem().string(), source);
  s.tasks = Read<std::vector<std::string>>(root, "tasks", {}, source);
  s.obs = Read<std::string>(root, "obs", s.obs, source);
  s.seeds = Read<std::vector<int>>(root, "seeds", s.seeds, source);
  s.demos = Read<int>(root, "demos", s.demos, source);
  s.env_steps = Read<int>(root, "env_steps", s.env_steps, source);
  s.eval_episodes = Read<int>(root, "eval_episodes", s.eval_episodes, source);
  s.task_env_steps = Read<std::map<std::string, int>>(root, "task_env_steps", {}, source);
  s.checkpoint_evals = Read<bool>(root, "checkpoint_evals", false, source);
  for (const auto& [task, steps] : s.task_env_steps) {
    if (std::find(s.tasks.begin(), s.tasks.end(), task) == s.tasks.end() || steps < 1) {
      throw InvalidArgument(fmt::format("{}: task_env_steps.{}: needs a task of 'tasks' and a budget >= 1", source, task));
    }
  }
  s.overrides = Read<std::vector<std::string>>(root, "set", {}, source);
  if (s.tasks.empty()) throw InvalidArgument(fmt::format("{}: 'tasks' needs at least one task", source));
  if (s.seeds.empty()) throw InvalidArgument(fmt::format("{}: 'seeds' needs at least one seed", source));
  if (s.obs != "state" && s.obs != "pixels") throw InvalidArgument(fmt::format("{}: 'obs' must be state or pixels", source));
  if (s.demos < 0 || s.env_steps < 1 || s.eval_episodes < 1) {
    throw InvalidArgument(fmt::format("{}: need demos >= 0, env_steps >= 1 and eval_episodes >= 1", source));
  }
  const YAML::Node methods = root["methods"];
  if (!methods || !methods.IsMap() || methods.size() == 0) {
    throw InvalidArgument(fmt::format("{}: 'methods' must map method ids to their settings", source));
  }
  for (const auto& kv : methods) {
    ExperimentMethod m;
    m.id = kv.first.as<std::string>();
    const std::string where = source + ": methods." + m.id;
    CheckKeys(kv.second, {"label", "method", "operator", "demos", "seeds", "set"}, where);
    m.label = Read<std::string>(kv.second, "label", m.id, where);
    m.method = Read<std::string>(kv.second, "method", m.method, where);
    m.operator_name = Read<std::string>(kv.second, "operator", m.operator_name, where);
    m.demos = Read<int>(kv.second, "demos", m.demos, where);
    m.seeds = Read<std::vector<int>>(kv.second, "seeds", {}, where);
    m.overrides = Read<std::vector<std::string>>(kv.second, "set", {}, where);
    if (m.method != "hil_serl" && m.method != "bc" && m.method != "hg_dagger") {
      throw InvalidArgument(fmt::format("{}: 'method' must be hil_serl, bc or hg_dagger, got '{}'", where, m.method));
    }
    if (m.operator_name != "scripted" && m.operator_name != "none") {
      throw InvalidArgument(fmt::format("{}: 'operator' must be scripted or none, got '{}'", where, m.operator_name));
    }
    if (m.method != "hil_serl" && (m.demos == 0 || (m.demos < 0 && s.demos == 0))) {
      throw InvalidArgument(fmt::format("{}: {} learns from demonstrations; it needs demos > 0", where, m.method));
    }
    s.methods.push_back(m);
  }
  return s;
}

// ---- curves ----

Curves ReadCurves(const std::string& path, double control_dt, int window) {
  std::ifstream in(path);
  if (!in) throw NotFound(fmt::format("no episode log '{}'", path));
  std::string line;
  std::getline(in, line);  // header
  Curves c;
  std::deque<std::pair<int, int>> recent;  // (success, length)
  std::deque<double> rates;
  int n = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string cell; std::getline(ls, cell, ',');) f.push_back(cell);
    if (f.size() < 7) throw DataLoss(fmt::format("{}: line {} has {} columns, expected 8", path, n + 2, f.size()));
    const int length = std::stoi(f[3]), success = std::stoi(f[4]);
    const double rate = std::stod(f[6]);
    recent.emplace_back(success, length);
    rates.push_back(rate);
    if (static_cast<int>(recent.size()) > window) {
      recent.pop_front();
      rates.pop_front();
    }
    double s = 0, cyc = 0, r = 0;
    int wins = 0;
    for (const auto& [ok, len] : recent) {
      s += ok;
      if (ok) {
        cyc += len * control_dt;
        ++wins;
      }
    }
    for (double v : rates) r += v;
    ++n;
    c.episode.push_back(n);
    c.env_step.push_back(std::stod(f[1]));
    c.success.push_back(s / recent.size());
    c.cycle_time_s.push_back(wins > 0 ? cyc / wins : std::nan(""));
    c.intervention_rate.push_back(r / rates.size());
  }
  return c;
}

Curves Curves::AtEnvSteps(const std::vector<double>& grid) const {
  Curves out;
  size_t i = 0;  // episodes with env_step <= grid point
  for (double x : grid) {
    while (i < env_step.size() && env_step[i] <= x) ++i;
    const double nan = std::nan("");
    out.env_step.push_back(x);
    out.episode.push_back(static_cast<double>(i));
    out.success.push_back(i > 0 ? success[i - 1] : nan);
    out.cycle_time_s.push_back(i > 0 ? cycle_time_s[i - 1] : nan);
    out.intervention_rate.push_back(i > 0 ? intervention_rate[i - 1] : nan);
  }
  return out;
}

// ---- running ----

namespace {

double Mean(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v) {
    if (std::isfinite(x)) {
      s += x;
      ++n;
    }
  }
  return n > 0 ? s / n : std::nan("");
}

double Std(const std::vector<double>& v) {
  const double m = Mean(v);
  double s = 0;
  int n = 0;
  for (double x : v) {
    if (std::isfinite(x)) {
      s += (x - m) * (x - m);
      ++n;
    }
  }
  return n > 1 ? std::sqrt(s / (n - 1)) : 0.0;
}

// N scripted demos of `task` for `seed` (recorded once, then reused).
std::string DemoFile(const std::string& task, const std::string& obs, int n, int seed, const fs::path& dir) {
  const fs::path path = dir / fmt::format("demos_{}_{}_seed{}.h5", obs, n, seed);
  if (fs::exists(path)) return path.string();
  fs::create_directories(dir);
  TaskConfig config = TaskConfig::Load(task, {"env.obs_mode=" + obs});
  auto env = MakeEnv(config);
  auto expert = MakeExpert(config);
  EpisodeWriter w(path.string(), DatasetInfo{env->name(), env->control_dt(), env->action_space().labels});
  uint64_t s = 100000ULL * static_cast<uint64_t>(seed);
  for (int kept = 0, attempts = 0; kept < n; ++attempts) {
    if (attempts > 10 * n + 10) {
      throw InternalError(fmt::format("the scripted expert of {} succeeded in {} of {} episodes; cannot record {} demos",
                                      task, kept, attempts, n));
    }
    Episode e = RecordExpertEpisode(*env, *expert, s++);
    if (!e.success) continue;  // demonstrations are successful episodes
    w.Write(e);
    ++kept;
  }
  w.Close();
  return path.string();
}

std::string Pct(double m, double sd, int n) {
  if (!std::isfinite(m)) return "-";
  return n > 1 ? fmt::format("{:.0f} ± {:.0f}%", 100 * m, 100 * sd) : fmt::format("{:.0f}%", 100 * m);
}

std::string Secs(double m, double sd, int n) {
  if (!std::isfinite(m)) return "-";
  return n > 1 ? fmt::format("{:.2f} ± {:.2f} s", m, sd) : fmt::format("{:.2f} s", m);
}

}  // namespace

ExperimentResult RunExperiment(const ExperimentSpec& spec, const std::string& out_dir, bool progress) {
  ExperimentResult result;
  const fs::path out(out_dir);
  fs::create_directories(out);
  int total = 0;
  for (const auto& m : spec.methods) total += static_cast<int>(spec.tasks.size() * spec.SeedsOf(m).size());
  int index = 0;
  std::map<std::string, double> control_dt;
  for (const auto& task : spec.tasks) {
    {
      TaskConfig c = TaskConfig::Load(task, {});
      auto env = MakeEnv(c);
      control_dt[task] = env->control_dt();
    }
    for (const auto& m : spec.methods) {
      for (int seed : spec.SeedsOf(m)) {
        ++index;
        const fs::path dir = out / task / m.id / fmt::format("seed_{}", seed);
        const fs::path eval_path = dir / "eval.json";
        RunOutcome o;
        o.task = task;
        o.method_id = m.id;
        o.seed = seed;
        if (!fs::exists(eval_path)) {
          std::cout << fmt::format("[{}/{}] {} / {} / seed {}\n", index, total, task, m.label, seed) << std::flush;
          const int demos = m.demos >= 0 ? m.demos : spec.demos;
          std::vector<std::string> overrides = {"env.obs_mode=" + spec.obs,
                                                fmt::format("train.env_steps={}", spec.EnvSteps(task)),
                                                fmt::format("train.eval_episodes={}", spec.eval_episodes),
                                                "train.method=" + m.method,
                                                fmt::format("train.interventions={}", m.operator_name == "scripted")};
          overrides.insert(overrides.end(), spec.overrides.begin(), spec.overrides.end());
          overrides.insert(overrides.end(), m.overrides.begin(), m.overrides.end());
          const std::string demo_path = demos > 0 ? DemoFile(task, spec.obs, demos, seed, out / task) : "";
          fs::remove_all(dir);
          TrainRequest req{TaskConfig::Load(task, overrides), demo_path, (dir / "run").string(),
                           static_cast<uint64_t>(seed), progress, ""};
          const TrainResult r = Train(std::move(req));
          // Every intermediate checkpoint, on the same evaluation episodes as the final one.
          nlohmann::json checkpoints = nlohmann::json::array();
          const fs::path ckpt_dir = dir / "run" / "checkpoints";
          if (spec.checkpoint_evals && m.method != "bc" && fs::exists(ckpt_dir)) {
            std::vector<fs::path> steps;
            for (const auto& e : fs::directory_iterator(ckpt_dir)) {
              const std::string n = e.path().filename().string();
              if (e.is_directory() && n.rfind("step_", 0) == 0 && n.find('.') == std::string::npos) steps.push_back(e.path());
            }
            std::sort(steps.begin(), steps.end());
            for (const auto& c : steps) {
              LoadedPolicy p = LoadCheckpoint(c.string());
              RolloutOptions ro;
              ro.episodes = spec.eval_episodes;
              ro.seed = 1000000 + static_cast<uint64_t>(seed);
              ro.progress = false;
              const RolloutSummary e = Evaluate(*p.env, *p.agent, ro, p.backbone.get());
              checkpoints.push_back({std::stoll(c.filename().string().substr(5)), e.success_rate});
            }
          }
          nlohmann::json j = {{"task", task},
                              {"checkpoints", checkpoints},
                              {"method", m.id},
                              {"label", m.label},
                              {"seed", seed},
                              {"success_rate", r.eval.success_rate},
                              {"cycle_time_s", r.eval.mean_cycle_time_s},
                              {"eval_episodes", r.eval.episodes.size()},
                              {"env_steps", r.env_steps},
                              {"learner_steps", r.learner_steps},
                              {"intervened_steps", r.intervened_steps},
                              {"wall_time_s", r.wall_time_s},
                              {"demos", demos}};
          std::ofstream(eval_path) << j.dump(2) << "\n";
          std::cout << fmt::format("      success {:.0f}%, cycle time {:.2f} s, {} intervened steps, {:.0f} s\n",
                                   100 * r.eval.success_rate, r.eval.mean_cycle_time_s, r.intervened_steps,
                                   r.wall_time_s);
        }
        std::ifstream in(eval_path);
        nlohmann::json j;
        try {
          in >> j;
          o.success_rate = j.at("success_rate").get<double>();
          o.cycle_time_s = o.success_rate > 0 ? j.at("cycle_time_s").get<double>() : std::nan("");
          o.env_steps = j.at("env_steps").get<int64_t>();
          o.intervened_steps = j.at("intervened_steps").get<int64_t>();
          o.wall_time_s = j.at("wall_time_s").get<double>();
          if (j.contains("checkpoints")) {
            for (const auto& c : j.at("checkpoints")) o.checkpoints.emplace_back(c.at(0).get<int64_t>(), c.at(1).get<double>());
          }
        } catch (const std::exception& e) {
          throw DataLoss(fmt::format("{}: unreadable result ({}); delete it to run this configuration again",
                                     eval_path.string(), e.what()));
        }
        result.runs.push_back(o);
      }
    }
  }

  // ---- table
  std::ostringstream md;
  md << fmt::format("# Experiment {}\n\n", spec.name);
  md << fmt::format("Observations: {}. Seeds: {}. Demonstrations: {} per seed unless noted. Interactive methods: {} env "
                    "steps. Evaluation: {} episodes per run (deterministic policy, randomised starts from seed 1000000 + "
                    "seed). Mean ± std over seeds.\n\n",
                    spec.obs, fmt::join(spec.seeds, ", "), spec.demos,
                    spec.task_env_steps.empty() ? std::to_string(spec.env_steps) : std::string("per task"),
                    spec.eval_episodes);
  md << "| method |";
  for (const auto& t : spec.tasks) md << fmt::format(" {} success | {} cycle time |", t, t);
  md << " intervened steps | wall per run |\n|---|";
  for (size_t i = 0; i < spec.tasks.size(); ++i) md << "---|---|";
  md << "---|---|\n";
  nlohmann::json all = nlohmann::json::array();
  for (const auto& m : spec.methods) {
    md << "| " << m.label << " |";
    std::vector<double> interventions, walls;
    for (const auto& t : spec.tasks) {
      std::vector<double> sr, ct;
      for (const auto& r : result.runs) {
        if (r.task != t || r.method_id != m.id) continue;
        sr.push_back(r.success_rate);
        ct.push_back(r.cycle_time_s);
        interventions.push_back(static_cast<double>(r.intervened_steps));
        walls.push_back(r.wall_time_s);
        all.push_back({{"task", r.task}, {"method", r.method_id}, {"seed", r.seed}, {"success_rate", r.success_rate},
                       {"cycle_time_s", std::isfinite(r.cycle_time_s) ? nlohmann::json(r.cycle_time_s) : nlohmann::json()},
                       {"intervened_steps", r.intervened_steps}, {"wall_time_s", r.wall_time_s}});
      }
      int finite_ct = 0;
      for (double v : ct) finite_ct += std::isfinite(v) ? 1 : 0;
      md << " " << Pct(Mean(sr), Std(sr), static_cast<int>(sr.size())) << " | "
         << Secs(Mean(ct), Std(ct), finite_ct) << " |";
    }
    md << fmt::format(" {:.0f} | {:.0f} s |\n", Mean(interventions), Mean(walls));
  }
  // ---- intermediate checkpoints: is the last one as good as the best?
  if (spec.checkpoint_evals) {
    md << "\n## Checkpoints\n\nSuccess rate of every intermediate checkpoint (env step: success), the final "
          "checkpoint and the best of them.\n\n| task | method | seed | checkpoints | final | best |\n|---|---|---|---|---|---|\n";
    for (const auto& r : result.runs) {
      if (r.checkpoints.empty()) continue;
      std::string cells;
      double best = r.success_rate;
      for (const auto& [step, sr] : r.checkpoints) {
        cells += fmt::format("{}{}k: {:.0f}%", cells.empty() ? "" : ", ", step / 1000, 100 * sr);
        best = std::max(best, sr);
      }
      md << fmt::format("| {} | {} | {} | {} | {:.0f}% | {:.0f}% |\n", r.task, r.method_id, r.seed, cells,
                        100 * r.success_rate, 100 * best);
    }
  }
  result.table_path = (out / "results.md").string();
  result.json_path = (out / "results.json").string();

  // ---- learning curves (methods that interact with the env), against env steps (how the
  // paper and users compare runs) and against training episodes
  for (const auto& t : spec.tasks) {
    std::vector<double> grid;
    const int grid_points = 100;
    for (int i = 1; i <= grid_points; ++i) grid.push_back(static_cast<double>(spec.EnvSteps(t)) * i / grid_points);
    for (const bool by_steps : {true, false}) {
      const char* x_label = by_steps ? "env step" : "training episode";
      plot::LinePanel success{{"success rate (last 20 episodes)", x_label, "success rate", 0, 0, -0.02, 1.02}, {}};
      plot::LinePanel cycle{{"cycle time (successes, last 20)", x_label, "s", 0, 0, 0, 0}, {}};
      plot::LinePanel interv{{"intervention rate (last 20)", x_label, "intervened / steps", 0, 0, -0.02, 1.02}, {}};
      for (const auto& m : spec.methods) {
        if (m.method == "bc") continue;
        std::vector<Curves> seeds;
        for (int seed : spec.SeedsOf(m)) {
          const fs::path csv = out / t / m.id / fmt::format("seed_{}", seed) / "run" / "episodes.csv";
          if (!fs::exists(csv)) continue;
          const Curves c = ReadCurves(csv.string(), control_dt[t]);
          seeds.push_back(by_steps ? c.AtEnvSteps(grid) : c);
        }
        if (seeds.empty()) continue;
        size_t len = seeds[0].episode.size();
        for (const auto& c : seeds) len = std::min(len, c.episode.size());
        auto series = [&](std::vector<double> Curves::*field) {
          plot::Series s{m.label, {}, {}, {}, ""};
          for (size_t i = 0; i < len; ++i) {
            std::vector<double> v;
            for (const auto& c : seeds) {
              if (std::isfinite((c.*field)[i])) v.push_back((c.*field)[i]);
            }
            if (v.empty()) continue;
            s.x.push_back(by_steps ? grid[i] : static_cast<double>(i + 1));
            s.y.push_back(Mean(v));
            s.band.push_back(v.size() > 1 ? Std(v) : std::nan(""));
          }
          if (seeds.size() == 1) s.band.clear();
          return s;
        };
        success.series.push_back(series(&Curves::success));
        cycle.series.push_back(series(&Curves::cycle_time_s));
        interv.series.push_back(series(&Curves::intervention_rate));
      }
      if (success.series.empty()) continue;
      const std::string stem = fs::path(t).stem().string();
      const std::string path =
          (out / (by_steps ? fmt::format("curves_{}.svg", stem) : fmt::format("curves_{}_by_episode.svg", stem))).string();
      plot::WriteLinePlot(path, {success, cycle, interv});
      result.plot_paths.push_back(path);
      if (by_steps) md << fmt::format("\n![{} learning curves]({})\n", t, fs::path(path).filename().string());
    }
  }
  std::ofstream(result.table_path) << md.str();
  std::ofstream(result.json_path) << nlohmann::json{{"name", spec.name}, {"runs", all}}.dump(2) << "\n";
  return result;
}

}  // namespace hilserl
