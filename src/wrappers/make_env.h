// Task configs: one YAML file per task (configs/tasks/<task>.yaml) describing the base env,
// the wrapper stack and the scripted expert:
//
//   task: pick_cube            # registered task name (envs/registry.cc)
//   env: {...}                 # the task's options (envs/<task>.h)
//   wrappers:
//     time_limit: 100          # steps; truncates
//     safety_box: {low: [x, y, z], high: [x, y, z]}   # optional, narrows the env's box
//     relative_frame: false    # egocentric observations and actions
//     normalize_actions: true  # policy/teleop space [-1, 1]
//     gripper_penalty: -0.02   # 0 disables
//     image_crop: {front: {crop: [x, y, w, h], size: [h, w]}}
//   expert: {...}              # the scripted expert's options
//   agent: {...}               # SAC/RLPD options (agents/sac.h), read by `hilserl train`
//   train: {...}               # training-loop options (runtime/trainer.h)
//
// Wrapper order, outermost first: TimeLimit, GripperPenalty, ActionScale, RelativeFrame,
// SafetyBoxWrapper, ImageCropResize, base env.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "envs/env.h"
#include "envs/expert.h"

namespace hilserl {

struct TaskConfig {
  std::string task;  // registered task name
  ConfigNode root;   // the whole file, overrides applied

  // A fresh copy of a section (its own unknown-key bookkeeping).
  static TaskConfig FromNode(TaskConfig config, const std::string& path);

  ConfigNode Section(const std::string& name) const {
    ConfigNode copy = root;
    return copy.Child(name);
  }

  // Loads `task_or_path`: an existing YAML file, or the name of a file in
  // <project root>/configs/tasks/. `overrides` are "section.key=value" assignments.
  // Throws NotFound listing the available tasks.
  static TaskConfig Load(const std::string& task_or_path,
                         const std::vector<std::string>& overrides = {});
  // From YAML text (e.g. the copy a checkpoint keeps); `source` names it in errors.
  static TaskConfig FromYaml(const std::string& text, const std::string& source);
};

// Builds the base env and its wrapper stack. Every key of 'task', 'env' and 'wrappers' is
// checked; unknown keys are errors naming the file and section.
std::unique_ptr<Env> MakeEnv(TaskConfig& config);
// Builds the task's scripted expert from the 'expert' section.
std::unique_ptr<ScriptedExpert> MakeExpert(TaskConfig& config);

}  // namespace hilserl
