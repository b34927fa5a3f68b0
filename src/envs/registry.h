// Task registry: maps task names used in configs and on the command line to factories.
// Adding a task means one file (plus its MJCF and YAML) and one line in registry.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "envs/env.h"
#include "envs/expert.h"

namespace hilserl {

// Builds the base env of `task` from the 'env' section of a task config. Throws NotFound
// listing the known tasks, or InvalidArgument for a bad option.
std::unique_ptr<Env> MakeBaseEnv(const std::string& task, ConfigNode& env_config);
// Builds the scripted expert of `task` from the 'expert' section of a task config.
std::unique_ptr<ScriptedExpert> MakeScriptedExpert(const std::string& task,
                                                   ConfigNode& expert_config);
std::vector<std::string> TaskNames();

}  // namespace hilserl
