#include "envs/pendulum.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {
namespace {
constexpr double kG = 10.0, kDt = 0.05, kMaxSpeed = 8.0, kMaxTorque = 2.0;
double Normalize(double th) { return std::remainder(th, 2.0 * std::numbers::pi); }
}  // namespace

Pendulum::Pendulum() {
  spec_.proprio.push_back({"state", {"cos", "sin", "omega"}, {-1.f, -1.f, -8.f}, {1.f, 1.f, 8.f}});
  space_ = {"action", {"torque"}, {-2.f}, {2.f}};
}

Observation Pendulum::Reset(uint64_t seed) {
  rng_.Seed(seed);
  theta_ = rng_.Uniform(-std::numbers::pi, std::numbers::pi);
  omega_ = rng_.Uniform(-1.0, 1.0);
  return Obs();
}

Observation Pendulum::Obs() const {
  Observation o;
  o.proprio["state"] = {static_cast<float>(std::cos(theta_)), static_cast<float>(std::sin(theta_)),
                        static_cast<float>(omega_)};
  return o;
}

StepResult Pendulum::Step(const Action& action) {
  space_.CheckFinite(action, "pendulum step action");
  const double u = std::clamp<double>(action[0], -kMaxTorque, kMaxTorque);
  const double th = Normalize(theta_);
  StepResult r;
  r.reward = -(th * th + 0.1 * omega_ * omega_ + 0.001 * u * u);
  omega_ = std::clamp(omega_ + (3.0 * kG / 2.0 * std::sin(theta_) + 3.0 * u) * kDt, -kMaxSpeed, kMaxSpeed);
  theta_ += omega_ * kDt;
  r.observation = Obs();
  r.info["success"] = 0.0;
  return r;
}

Image Pendulum::RenderCamera(const std::string& camera, int, int) {
  throw NotFound(fmt::format("pendulum has no cameras (asked for '{}')", camera));
}

std::unique_ptr<Env> MakePendulum(ConfigNode& env_config) {
  env_config.CheckNoUnknownKeys();
  return std::make_unique<Pendulum>();
}

namespace {
class PendulumExpert final : public ScriptedExpert {
 public:
  void Reset(uint64_t) override {}
  Action Act(const StateMap& s, const VectorSpace&) override {
    const double th = Normalize(s.at("theta")[0]), w = s.at("omega")[0];
    double u;
    if (std::abs(th) < 0.6) {
      u = -10.0 * th - 2.0 * w;  // balance
    } else {
      // Energy relative to resting upright (inertia 1/3, gravity torque g/2 sin th): push
      // along the motion (power u w > 0) while short of it, damp once above it.
      const double energy = w * w / 6.0 + kG / 2.0 * (std::cos(th) - 1.0);
      u = energy < 0 ? (w >= 0 ? kMaxTorque : -kMaxTorque) : -0.5 * w;
    }
    return {static_cast<float>(std::clamp(u, -kMaxTorque, kMaxTorque))};
  }
};
}  // namespace

std::unique_ptr<ScriptedExpert> MakePendulumExpert(ConfigNode& expert_config) {
  expert_config.CheckNoUnknownKeys();
  return std::make_unique<PendulumExpert>();
}

}  // namespace hilserl
