// Base class for env wrappers: forwards every call to the wrapped env.
// A wrapper overrides only what it changes and documents its contract in its header.
#pragma once

#include <memory>
#include <utility>

#include "envs/env.h"

namespace hilserl {

class Wrapper : public Env {
 public:
  explicit Wrapper(std::unique_ptr<Env> inner) : inner_(std::move(inner)) {}

  std::string name() const override { return inner_->name(); }
  const ObservationSpec& observation_spec() const override { return inner_->observation_spec(); }
  const VectorSpace& action_space() const override { return inner_->action_space(); }
  double control_dt() const override { return inner_->control_dt(); }
  Observation Reset(uint64_t seed) override { return inner_->Reset(seed); }
  StepResult Step(const Action& action) override { return inner_->Step(action); }
  std::vector<std::string> camera_names() const override { return inner_->camera_names(); }
  Image RenderCamera(const std::string& camera, int width, int height) override {
    return inner_->RenderCamera(camera, width, height);
  }
  StateMap privileged_state() const override { return inner_->privileged_state(); }
  bool Perturb(const std::string& kind, uint64_t seed) override { return inner_->Perturb(kind, seed); }
  Action FromBaseAction(const Action& base_action) const final {
    return FromInnerAction(inner_->FromBaseAction(base_action));
  }

  const VectorSpace& base_action_space() const final { return inner_->base_action_space(); }

  Env& inner() { return *inner_; }
  const Env& inner() const { return *inner_; }

 protected:
  // Maps an action of the wrapped env's space to this wrapper's space (the inverse of
  // what Step does to actions). Identity unless the wrapper transforms actions.
  virtual Action FromInnerAction(const Action& inner_action) const { return inner_action; }

 private:
  std::unique_ptr<Env> inner_;
};

}  // namespace hilserl
