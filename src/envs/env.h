// The environment interface every task, robot and wrapper implements.
//
// Contract:
//  - Reset(seed) starts an episode; the same seed gives the same episode (sim tasks).
//  - Step(action) validates the action against action_space(): a wrong size or a
//    non-finite value throws InvalidArgument naming the component (NaN is never clipped);
//    finite values outside the bounds are clipped.
//  - terminated = the task ended by itself (success); truncated = cut short (time limit,
//    see wrappers/time_limit.h). Base envs never truncate.
//  - Every commanded end-effector pose passes the env's safety box.
// Threading: an Env is used from one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/spaces.h"
#include "core/types.h"

namespace hilserl {

// Privileged simulator state (object poses, tcp position...) for scripted experts and
// operators; empty for a real robot. Values are in the base env's units and frames.
using StateMap = std::map<std::string, std::vector<double>>;

class Env {
 public:
  virtual ~Env() = default;

  virtual std::string name() const = 0;
  virtual const ObservationSpec& observation_spec() const = 0;
  virtual const VectorSpace& action_space() const = 0;
  // Seconds of real/simulated time per Step().
  virtual double control_dt() const = 0;

  virtual Observation Reset(uint64_t seed) = 0;
  virtual StepResult Step(const Action& action) = 0;

  // Camera names this env can render (whether or not they are in the observation).
  virtual std::vector<std::string> camera_names() const = 0;
  // Renders a camera at any size, for videos, debugging and reward classifiers; not part
  // of the observation. At the observation image size it renders exactly as observation
  // frames are rendered.
  virtual Image RenderCamera(const std::string& camera, int width, int height) = 0;
  virtual StateMap privileged_state() const = 0;

  // Maps an action expressed in the innermost (base) env's action space to this env's
  // action space: how a scripted expert that thinks in metres in the base frame drives a
  // policy-facing stack of wrappers. Base envs return it unchanged.
  virtual Action FromBaseAction(const Action& base_action) const { return base_action; }
  // The action space of the innermost (base) env, the one FromBaseAction takes.
  virtual const VectorSpace& base_action_space() const { return action_space(); }

  // Disturbs the running episode the way a person would in a robustness test (the
  // paper's Fig. 4): "move_object" displaces the task's object (if nothing holds it),
  // "open_gripper" pulls every gripper open. Returns false if this env cannot do `kind`.
  // Simulation only; `seed` makes the disturbance reproducible. The policy sees its effect
  // in the observation of its next Step (one control period late, like a sensor delay).
  virtual bool Perturb(const std::string& kind, uint64_t seed) {
    (void)kind;
    (void)seed;
    return false;
  }
};

}  // namespace hilserl
