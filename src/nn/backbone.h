// The frozen image backbone on the actor side: ResNet-10 features of each camera frame,
// computed once per frame and attached to the observation (Observation::features) so
// the learner trains on cached features and never touches pixels again.
//
// Weights come from a safetensors file (tensor names in nn/resnet.h; e.g. the output of
// `hilserl pretrain-encoder` or converted ImageNet weights) or, without one, from a
// seeded random initialisation (a random frozen encoder: a baseline, and what tests use).
//
// Threading: not thread-safe; give each actor thread its own backbone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/types.h"
#include "nn/resnet.h"
#include "nn/safetensors.h"

namespace hilserl::nn {

class FrozenBackbone {
 public:
  // image_size: square input frames (multiple of 32). weights: safetensors path or "".
  FrozenBackbone(std::vector<std::string> cameras, int image_size, const std::string& weights, uint64_t seed);

  // Adds features[camera] (C x H x W floats) for every camera of the observation(s).
  void Encode(Observation* obs);
  void EncodeMany(const std::vector<Observation*>& obs, int batch = 32);

  const std::vector<std::string>& cameras() const { return cameras_; }
  int64_t channels() const { return 512; }
  int64_t feature_height() const { return image_size_ / 32; }
  int64_t feature_width() const { return image_size_ / 32; }
  int64_t feature_size() const { return channels() * feature_height() * feature_width(); }
  // The backbone's tensors (to store next to a checkpoint) and where they came from.
  TensorMap Weights() const;
  const std::string& source() const { return source_; }

 private:
  std::vector<std::string> cameras_;
  int image_size_;
  std::string source_;
  ResNet10 net_{nullptr};
};

}  // namespace hilserl::nn
