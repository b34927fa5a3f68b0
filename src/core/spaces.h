// Observation and action spaces, described by value so that a learner, a teleop device
// or a remote actor can check what an env produces without running it.
#pragma once

#include <string>
#include <vector>

#include "core/types.h"

namespace hilserl {

// A bounded real vector. `labels` names each component (e.g. "x", "y", "z", "gripper").
struct VectorSpace {
  std::string name;
  std::vector<std::string> labels;
  std::vector<float> low;
  std::vector<float> high;

  int size() const { return static_cast<int>(low.size()); }
  // Index of the component labelled `label`, or -1.
  int IndexOf(const std::string& label) const;
  // Throws InvalidArgument if sizes disagree or low > high anywhere.
  void Validate() const;
  // Throws InvalidArgument if `v` has the wrong size or a non-finite entry, naming the
  // space, the index and the value. `what` says whose vector this is (for the message).
  void CheckFinite(const std::vector<float>& v, const std::string& what) const;
  // Clamps each component into [low, high]. Call CheckFinite first: NaN is never clipped.
  std::vector<float> Clip(const std::vector<float>& v) const;
  bool operator==(const VectorSpace&) const = default;
};

// A camera image: height x width x channels, uint8.
struct ImageSpace {
  std::string name;
  int height = 0;
  int width = 0;
  int channels = 3;
  bool operator==(const ImageSpace&) const = default;
};

struct ObservationSpec {
  std::vector<ImageSpace> images;
  std::vector<VectorSpace> proprio;

  const ImageSpace* FindImage(const std::string& name) const;
  const VectorSpace* FindProprio(const std::string& name) const;
  // Throws DataLoss/InvalidArgument if `obs` does not match this spec (missing key, wrong
  // size or image shape), naming the entry.
  void CheckMatches(const Observation& obs) const;
  bool operator==(const ObservationSpec&) const = default;
};

// A symmetric box [-1, 1]^n with the same labels as `space` (what policies output).
VectorSpace NormalizedLike(const VectorSpace& space);

// Action label conventions (envs/arm_env.h): an arm's components are "x" ... or, in a
// scene with several arms, "<arm>_x" ...; grippers are "gripper" or "<arm>_gripper".
bool IsGripperLabel(const std::string& label);
// Indices of the gripper components of `space`, in order.
std::vector<int> GripperIndices(const VectorSpace& space);
// Indices of every non-gripper component.
std::vector<int> ContinuousIndices(const VectorSpace& space);
// The arm prefixes ("" or "<arm>_") for which `space` has the component prefix + `label`
// (e.g. label "x": the arms with translation actions), in the order they appear.
std::vector<std::string> ArmPrefixes(const VectorSpace& space, const std::string& label = "x");

}  // namespace hilserl
