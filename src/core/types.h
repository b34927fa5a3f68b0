// Value types that flow between envs, wrappers, policies and (later) the learner.
//
// Units and frames: unless a field says otherwise, positions are metres in the robot
// base frame, rotations are radians, quaternions are (w, x, y, z), times are seconds.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hilserl {

// An 8-bit image, row-major H x W x C (C = 3 for RGB), top row first.
struct Image {
  int height = 0;
  int width = 0;
  int channels = 3;
  std::vector<uint8_t> data;

  Image() = default;
  Image(int h, int w, int c = 3)
      : height(h), width(w), channels(c), data(static_cast<size_t>(h) * w * c, 0) {}

  bool empty() const { return data.empty(); }
  size_t size_bytes() const { return data.size(); }
  uint8_t& at(int row, int col, int ch) {
    return data[(static_cast<size_t>(row) * width + col) * channels + ch];
  }
  uint8_t at(int row, int col, int ch) const {
    return data[(static_cast<size_t>(row) * width + col) * channels + ch];
  }
  bool operator==(const Image&) const = default;
};

// What an env reports each step: named camera images and named proprio vectors.
// Keys are stable names declared in the env's ObservationSpec (e.g. "front", "wrist",
// "tcp_pose", "gripper_pos").
struct Observation {
  std::map<std::string, Image> images;
  std::map<std::string, std::vector<float>> proprio;
  // Frozen-encoder features per camera (flattened C x H x W), added by the actor when the
  // learner trains on cached features; envs leave this empty.
  std::map<std::string, std::vector<float>> features;

  // Proprio vector by name; throws NotFound naming the available keys.
  const std::vector<float>& Proprio(const std::string& name) const;
  const Image& GetImage(const std::string& name) const;
};

// An action vector in the layout of the env's action space.
using Action = std::vector<float>;

// Free-form per-step diagnostics (e.g. "success", "grasp_penalty").
using Info = std::map<std::string, double>;

struct StepResult {
  Observation observation;
  double reward = 0.0;
  // The task ended by itself (success, or an unrecoverable failure): do not bootstrap.
  bool terminated = false;
  // The episode was cut short (time limit): bootstrap from the next observation.
  bool truncated = false;
  Info info;
};

}  // namespace hilserl
