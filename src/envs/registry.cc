#include "envs/registry.h"

#include <functional>

#include <fmt/format.h>

#include "core/error.h"
#include "envs/pendulum.h"
#include "envs/pick_cube.h"
#include "envs/tasks.h"

namespace hilserl {
namespace {

struct TaskEntry {
  const char* name;
  std::function<std::unique_ptr<Env>(ConfigNode&)> make_env;
  std::function<std::unique_ptr<ScriptedExpert>(ConfigNode&)> make_expert;
};

const std::vector<TaskEntry>& Tasks() {
  static const std::vector<TaskEntry> tasks = {
      {"pick_cube", MakePickCube, MakePickCubeExpert},
      {"peg_insertion", MakePegInsertion, MakePegInsertionExpert},
      {"usb_grasp_insert", MakeUsbGraspInsert, MakeUsbGraspInsertExpert},
      {"handover", MakeHandover, MakeHandoverExpert},
      {"dashboard", MakeDashboard, MakeDashboardExpert},
      {"pan_flip", MakePanFlip, MakePanFlipExpert},
      {"pendulum", MakePendulum, MakePendulumExpert},
  };
  return tasks;
}

const TaskEntry& Find(const std::string& task) {
  for (const auto& t : Tasks()) {
    if (t.name == task) return t;
  }
  throw NotFound(fmt::format("unknown task '{}'; known tasks: {}", task,
                             fmt::join(TaskNames(), ", ")));
}

}  // namespace

std::unique_ptr<Env> MakeBaseEnv(const std::string& task, ConfigNode& env_config) {
  return Find(task).make_env(env_config);
}

std::unique_ptr<ScriptedExpert> MakeScriptedExpert(const std::string& task,
                                                   ConfigNode& expert_config) {
  return Find(task).make_expert(expert_config);
}

std::vector<std::string> TaskNames() {
  std::vector<std::string> names;
  for (const auto& t : Tasks()) names.emplace_back(t.name);
  return names;
}

}  // namespace hilserl
