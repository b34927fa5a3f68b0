// RewardClassifierWrapper: the task reward and termination come from a learned success
// classifier looking at camera frames, as on a real robot where no simulator says "done"
// (the paper and its official implementation). Each step:
//   success = p(frames) >= threshold  and  every state condition holds
//   reward  = 1 if success else 0;  terminated = success;  truncated as the inner env says.
// The inner env's own verdict (a simulator's ground truth, if it has one) moves to info
// "true_success" and the step is counted in confusion(), so false positive and false
// negative rates can be reported; info "success" becomes the classifier's verdict and
// info "classifier_p" its probability. An inner env that ends on its own success keeps
// running until the classifier agrees or the time limit truncates.
// Cameras the classifier needs but the observation lacks (state observations) are
// rendered with RenderCamera at the classifier's size; the returned observation is
// unchanged.
// The classifier itself (LibTorch) lives in agents/; this wrapper takes any function.
#pragma once

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "wrappers/wrapper.h"

namespace hilserl {

// Success also needs observation.proprio[key][index] within [min, max] (e.g. gripper
// closed, tcp height above the table).
struct StateCondition {
  std::string key;
  int index = 0;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
};

// Step counts of the classifier's verdict against the inner env's ground truth.
struct ClassifierConfusion {
  int64_t true_positive = 0, false_positive = 0, true_negative = 0, false_negative = 0;
  int64_t steps() const { return true_positive + false_positive + true_negative + false_negative; }
  double false_positive_rate() const;  // FP / (FP + TN): failure frames called success
  double false_negative_rate() const;  // FN / (FN + TP): success frames missed
};

class RewardClassifierWrapper final : public Wrapper {
 public:
  using Probability = std::function<double(const Observation&)>;
  // cameras/image_size: the frames `probability` reads.
  RewardClassifierWrapper(std::unique_ptr<Env> inner, Probability probability, std::vector<std::string> cameras,
                          int image_size, double threshold, std::vector<StateCondition> conditions = {});
  StepResult Step(const Action& action) override;
  const ClassifierConfusion& confusion() const { return confusion_; }

 private:
  Probability probability_;
  std::vector<std::string> cameras_;
  int image_size_;
  double threshold_;
  std::vector<StateCondition> conditions_;
  ClassifierConfusion confusion_;
};

}  // namespace hilserl
