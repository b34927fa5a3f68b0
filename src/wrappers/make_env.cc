#include "wrappers/make_env.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/paths.h"
#include "envs/registry.h"
#include "wrappers/action_scale.h"
#include "wrappers/gripper_penalty.h"
#include "wrappers/image_crop_resize.h"
#include "wrappers/relative_frame.h"
#include "wrappers/safety_box.h"
#include "wrappers/time_limit.h"

namespace hilserl {

TaskConfig TaskConfig::Load(const std::string& task_or_path, const std::vector<std::string>& overrides) {
  namespace fs = std::filesystem;
  std::string path = task_or_path;
  if (!fs::exists(path)) {
    const fs::path dir = fs::path(ProjectRoot()) / "configs" / "tasks";
    path = (dir / (task_or_path + ".yaml")).string();
    if (!fs::exists(path)) {
      std::vector<std::string> names;
      if (fs::is_directory(dir)) {
        for (const auto& e : fs::directory_iterator(dir)) {
          if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
        }
      }
      std::sort(names.begin(), names.end());
      throw NotFound(fmt::format("unknown task '{}': no such file, and no {} (available tasks: {})",
                                 task_or_path, path, names.empty() ? "(none)" : fmt::format("{}", fmt::join(names, ", "))));
    }
  }
  TaskConfig config{"", ConfigNode::FromFile(path)};
  for (const auto& o : overrides) config.root.SetFromAssignment(o);
  return FromNode(std::move(config), path);
}

TaskConfig TaskConfig::FromYaml(const std::string& text, const std::string& source) {
  return FromNode(TaskConfig{"", ConfigNode::FromString(text, source)}, source);
}

TaskConfig TaskConfig::FromNode(TaskConfig config, const std::string& path) {
  config.root.Get("task", &config.task);
  std::string description;
  config.root.Get("description", &description);
  for (const char* section : {"env", "wrappers", "expert", "operator", "encoder", "reward_classifier", "agent", "train"}) {
    config.root.Child(section);
  }
  config.root.CheckNoUnknownKeys();
  if (config.task.empty()) {
    throw InvalidArgument(fmt::format("{}: key 'task' (the registered task name) is required", path));
  }
  return config;
}

std::unique_ptr<Env> MakeEnv(TaskConfig& config) {
  ConfigNode env_node = config.root.Child("env");
  std::unique_ptr<Env> env = MakeBaseEnv(config.task, env_node);

  ConfigNode w = config.root.Child("wrappers");
  int time_limit = 100;
  bool relative_frame = false;
  bool normalize_actions = true;
  double gripper_penalty = 0.0;
  w.Get("time_limit", &time_limit);
  w.Get("relative_frame", &relative_frame);
  w.Get("normalize_actions", &normalize_actions);
  w.Get("gripper_penalty", &gripper_penalty);
  if (time_limit < 1 || time_limit > 100000) {
    throw InvalidArgument(fmt::format("{}: 'time_limit' must be in [1, 100000] steps, got {}", w.where(), time_limit));
  }
  // A penalty per gripper change, on the scale of the task's rewards (success = 1).
  if (!(gripper_penalty >= -1.0 && gripper_penalty <= 0.0)) {
    throw InvalidArgument(fmt::format("{}: 'gripper_penalty' must be in [-1, 0] (a cost per gripper change; "
                                      "a success is worth 1), got {}", w.where(), gripper_penalty));
  }

  // Innermost first.
  if (w.Has("image_crop")) {
    ConfigNode crops_node = w.Child("image_crop");
    std::map<std::string, CropResize> crops;
    for (const auto& img : env->observation_spec().images) {
      if (!crops_node.Has(img.name)) continue;
      ConfigNode c = crops_node.Child(img.name);
      std::vector<double> rect{0, 0, 0, 0}, size{128, 128};
      c.GetFixed("crop", 4, &rect);
      c.GetFixed("size", 2, &size);
      c.CheckNoUnknownKeys();
      crops[img.name] = CropResize{static_cast<int>(rect[0]), static_cast<int>(rect[1]),
                                   static_cast<int>(rect[2]), static_cast<int>(rect[3]),
                                   static_cast<int>(size[0]), static_cast<int>(size[1])};
    }
    crops_node.CheckNoUnknownKeys();
    if (!crops.empty()) env = std::make_unique<ImageCropResize>(std::move(env), std::move(crops));
  }
  if (w.Has("safety_box")) {
    ConfigNode b = w.Child("safety_box");
    std::vector<double> low{0, 0, 0}, high{0, 0, 0};
    b.GetFixed("low", 3, &low);
    b.GetFixed("high", 3, &high);
    b.CheckNoUnknownKeys();
    env = std::make_unique<SafetyBoxWrapper>(std::move(env), Eigen::Vector3d(low[0], low[1], low[2]),
                                             Eigen::Vector3d(high[0], high[1], high[2]));
  }
  if (relative_frame) env = std::make_unique<RelativeFrame>(std::move(env));
  if (normalize_actions) env = std::make_unique<ActionScale>(std::move(env));
  if (gripper_penalty != 0.0) env = std::make_unique<GripperPenalty>(std::move(env), gripper_penalty);
  env = std::make_unique<TimeLimit>(std::move(env), time_limit);
  w.CheckNoUnknownKeys();
  return env;
}

std::unique_ptr<ScriptedExpert> MakeExpert(TaskConfig& config) {
  ConfigNode node = config.root.Child("expert");
  return MakeScriptedExpert(config.task, node);
}

}  // namespace hilserl
