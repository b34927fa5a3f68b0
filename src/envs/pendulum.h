// Pendulum swing-up with the classic dynamics (the Pendulum-v1 benchmark SAC is usually
// checked on): angle th (0 = upright), angular velocity w in [-8, 8] rad/s, torque
// u in [-2, 2] N m, dt = 0.05 s, g = 10, m = l = 1:
//   w' = w + (3 g / (2 l) sin th + 3 / (m l^2) u) dt,  th' = th + w' dt
//   reward = -(normalize(th)^2 + 0.1 w^2 + 0.001 u^2)
// Observation proprio "state" = [cos th, sin th, w]; start th ~ U[-pi, pi], w ~ U[-1, 1].
// Never terminates; the config's time limit (200 steps) truncates. Used to check the RL
// stack against a published number without any robot in the loop.
#pragma once

#include <memory>

#include "core/config.h"
#include "core/rng.h"
#include "envs/env.h"
#include "envs/expert.h"

namespace hilserl {

class Pendulum final : public Env {
 public:
  Pendulum();
  std::string name() const override { return "pendulum"; }
  const ObservationSpec& observation_spec() const override { return spec_; }
  const VectorSpace& action_space() const override { return space_; }
  double control_dt() const override { return 0.05; }
  Observation Reset(uint64_t seed) override;
  StepResult Step(const Action& action) override;
  std::vector<std::string> camera_names() const override { return {}; }
  Image RenderCamera(const std::string& camera, int width, int height) override;
  StateMap privileged_state() const override { return {{"theta", {theta_}}, {"omega", {omega_}}}; }

 private:
  Observation Obs() const;
  ObservationSpec spec_;
  VectorSpace space_;
  Rng rng_;
  double theta_ = 0.0, omega_ = 0.0;
};

std::unique_ptr<Env> MakePendulum(ConfigNode& env_config);
// Energy-shaping swing-up + PD balance controller.
std::unique_ptr<ScriptedExpert> MakePendulumExpert(ConfigNode& expert_config);

}  // namespace hilserl
