#include "wrappers/reward_classifier.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

double ClassifierConfusion::false_positive_rate() const {
  const int64_t n = false_positive + true_negative;
  return n > 0 ? static_cast<double>(false_positive) / static_cast<double>(n) : 0.0;
}

double ClassifierConfusion::false_negative_rate() const {
  const int64_t n = false_negative + true_positive;
  return n > 0 ? static_cast<double>(false_negative) / static_cast<double>(n) : 0.0;
}

RewardClassifierWrapper::RewardClassifierWrapper(std::unique_ptr<Env> inner, Probability probability,
                                                 std::vector<std::string> cameras, int image_size, double threshold,
                                                 std::vector<StateCondition> conditions)
    : Wrapper(std::move(inner)),
      probability_(std::move(probability)),
      cameras_(std::move(cameras)),
      image_size_(image_size),
      threshold_(threshold),
      conditions_(std::move(conditions)) {
  if (!probability_) throw InvalidArgument("reward classifier wrapper: no classifier");
  if (!(threshold_ > 0 && threshold_ < 1)) {
    throw InvalidArgument(fmt::format("reward_classifier: 'threshold' must be in (0, 1), got {}", threshold_));
  }
  const auto available = camera_names();
  for (const auto& cam : cameras_) {
    if (std::find(available.begin(), available.end(), cam) == available.end()) {
      throw InvalidArgument(fmt::format("reward_classifier: the classifier reads camera '{}', which this env does "
                                        "not have", cam));
    }
  }
  for (const auto& c : conditions_) {
    bool found = false;
    for (const auto& v : observation_spec().proprio) found = found || (v.name == c.key && c.index < v.size());
    if (!found || c.index < 0) {
      throw InvalidArgument(fmt::format("reward_classifier: condition on '{}[{}]', which is not in the observation",
                                        c.key, c.index));
    }
  }
}

StepResult RewardClassifierWrapper::Step(const Action& action) {
  StepResult r = Wrapper::Step(action);
  const Observation* frames = &r.observation;
  Observation with_frames;
  bool missing = false;
  for (const auto& cam : cameras_) missing = missing || !r.observation.images.count(cam);
  if (missing) {
    with_frames = r.observation;
    for (const auto& cam : cameras_) {
      if (!with_frames.images.count(cam)) with_frames.images[cam] = RenderCamera(cam, image_size_, image_size_);
    }
    frames = &with_frames;
  }
  const double p = probability_(*frames);
  if (!std::isfinite(p)) throw InternalError("reward classifier returned a non-finite probability");
  bool success = p >= threshold_;
  for (const auto& c : conditions_) {
    const double v = r.observation.proprio.at(c.key)[c.index];
    success = success && v >= c.min && v <= c.max;
  }
  auto truth = r.info.find("success");
  if (truth != r.info.end()) {
    const bool t = truth->second > 0.5;
    r.info["true_success"] = t ? 1.0 : 0.0;
    ++(t ? (success ? confusion_.true_positive : confusion_.false_negative)
         : (success ? confusion_.false_positive : confusion_.true_negative));
  }
  r.info["success"] = success ? 1.0 : 0.0;
  r.info["classifier_p"] = p;
  r.reward = success ? 1.0 : 0.0;
  r.terminated = success;
  return r;
}

}  // namespace hilserl
