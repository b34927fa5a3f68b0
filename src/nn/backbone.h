// The frozen image backbone on the actor side: ResNet-10 features of each camera frame,
// computed once per frame and attached to the observation (Observation::features) so
// the learner trains on cached features and never touches pixels again.
//
// Weights come from a safetensors file (tensor names in nn/resnet.h; e.g. the output of
// `hilserl pretrain-encoder` or converted ImageNet weights) or, without one, from a
// seeded random initialisation (a random frozen encoder: a baseline, and what tests use).
//
// For end-to-end (DrQ) agents the same role is played by a pixel stem without weights:
// each frame is area-downsampled to S x S and scaled to [0, 1], and those 3 x S x S
// values are the camera's "features" (FrozenBackbone::Pixels); the agent's conv head
// then learns from them.
//
// Threading: not thread-safe; give each actor thread its own backbone.
#pragma once

#include <cstdint>
#include <memory>
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
  // The weightless pixel stem: image_size frames -> 3 x out_size x out_size in [0, 1].
  static std::unique_ptr<FrozenBackbone> Pixels(std::vector<std::string> cameras, int image_size, int out_size);

  // Adds features[camera] (C x H x W floats) for every camera of the observation(s).
  void Encode(Observation* obs);
  void EncodeMany(const std::vector<Observation*>& obs, int batch = 32);

  const std::vector<std::string>& cameras() const { return cameras_; }
  bool is_pixel_stem() const { return pixel_size_ > 0; }
  int64_t channels() const { return is_pixel_stem() ? 3 : 512; }
  int64_t feature_height() const { return is_pixel_stem() ? pixel_size_ : image_size_ / 32; }
  int64_t feature_width() const { return feature_height(); }
  int64_t feature_size() const { return channels() * feature_height() * feature_width(); }
  // The backbone's tensors (to store next to a checkpoint; none for the pixel stem) and
  // where they came from.
  TensorMap Weights() const;
  const std::string& source() const { return source_; }

 private:
  FrozenBackbone() = default;
  std::vector<std::string> cameras_;
  int image_size_ = 0;
  int pixel_size_ = 0;  // > 0: pixel stem
  std::string source_;
  ResNet10 net_{nullptr};
};

}  // namespace hilserl::nn
