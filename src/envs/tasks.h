// Factories of the simulated tasks that live in one .cc file each (registry.cc lists
// them). PickCube and Pendulum have their own headers (their classes are used in tests).
#pragma once

#include <memory>

#include "core/config.h"
#include "envs/env.h"
#include "envs/expert.h"

namespace hilserl {

std::unique_ptr<Env> MakePegInsertion(ConfigNode& env_config);
std::unique_ptr<ScriptedExpert> MakePegInsertionExpert(ConfigNode& expert_config);
std::unique_ptr<Env> MakeUsbGraspInsert(ConfigNode& env_config);
std::unique_ptr<ScriptedExpert> MakeUsbGraspInsertExpert(ConfigNode& expert_config);
std::unique_ptr<Env> MakeHandover(ConfigNode& env_config);
std::unique_ptr<ScriptedExpert> MakeHandoverExpert(ConfigNode& expert_config);
std::unique_ptr<Env> MakeDashboard(ConfigNode& env_config);
std::unique_ptr<ScriptedExpert> MakeDashboardExpert(ConfigNode& expert_config);
std::unique_ptr<Env> MakePanFlip(ConfigNode& env_config);
std::unique_ptr<ScriptedExpert> MakePanFlipExpert(ConfigNode& expert_config);

}  // namespace hilserl
