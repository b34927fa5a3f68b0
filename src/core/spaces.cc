#include "core/spaces.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

int VectorSpace::IndexOf(const std::string& label) const {
  auto it = std::find(labels.begin(), labels.end(), label);
  return it == labels.end() ? -1 : static_cast<int>(it - labels.begin());
}

void VectorSpace::Validate() const {
  if (low.size() != high.size()) {
    throw InvalidArgument(fmt::format("space '{}': low has {} entries but high has {}", name,
                                      low.size(), high.size()));
  }
  if (!labels.empty() && labels.size() != low.size()) {
    throw InvalidArgument(fmt::format("space '{}': {} labels for {} components", name,
                                      labels.size(), low.size()));
  }
  for (size_t i = 0; i < low.size(); ++i) {
    if (!(low[i] <= high[i])) {
      throw InvalidArgument(fmt::format("space '{}': component {} has low {} > high {}", name, i,
                                        low[i], high[i]));
    }
  }
}

void VectorSpace::CheckFinite(const std::vector<float>& v, const std::string& what) const {
  if (static_cast<int>(v.size()) != size()) {
    std::string layout;
    for (const auto& l : labels) layout += (layout.empty() ? "" : ", ") + l;
    throw InvalidArgument(fmt::format("{}: expected {} values for space '{}' [{}], got {}", what,
                                      size(), name, layout, v.size()));
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      throw InvalidArgument(fmt::format("{}: component {} ('{}') of space '{}' is {}", what, i,
                                        i < labels.size() ? labels[i] : "?", name, v[i]));
    }
  }
}

std::vector<float> VectorSpace::Clip(const std::vector<float>& v) const {
  HILSERL_CHECK(static_cast<int>(v.size()) == size(), "Clip: size mismatch");
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = std::clamp(v[i], low[i], high[i]);
  return out;
}

const ImageSpace* ObservationSpec::FindImage(const std::string& n) const {
  for (const auto& s : images) {
    if (s.name == n) return &s;
  }
  return nullptr;
}

const VectorSpace* ObservationSpec::FindProprio(const std::string& n) const {
  for (const auto& s : proprio) {
    if (s.name == n) return &s;
  }
  return nullptr;
}

void ObservationSpec::CheckMatches(const Observation& obs) const {
  for (const auto& s : images) {
    const Image& img = obs.GetImage(s.name);
    if (img.height != s.height || img.width != s.width || img.channels != s.channels ||
        img.data.size() != static_cast<size_t>(s.height) * s.width * s.channels) {
      throw DataLoss(fmt::format("image '{}': expected {}x{}x{}, got {}x{}x{} ({} bytes)", s.name,
                                 s.height, s.width, s.channels, img.height, img.width,
                                 img.channels, img.data.size()));
    }
  }
  for (const auto& s : proprio) {
    const auto& v = obs.Proprio(s.name);
    if (static_cast<int>(v.size()) != s.size()) {
      throw DataLoss(fmt::format("proprio '{}': expected {} values, got {}", s.name, s.size(),
                                 v.size()));
    }
  }
  if (obs.images.size() != images.size() || obs.proprio.size() != proprio.size()) {
    throw DataLoss(fmt::format("observation has {} images and {} proprio entries; spec has {} and {}",
                               obs.images.size(), obs.proprio.size(), images.size(),
                               proprio.size()));
  }
}

VectorSpace NormalizedLike(const VectorSpace& space) {
  VectorSpace out = space;
  std::fill(out.low.begin(), out.low.end(), -1.0f);
  std::fill(out.high.begin(), out.high.end(), 1.0f);
  return out;
}

bool IsGripperLabel(const std::string& label) {
  static const std::string kSuffix = "_gripper";
  return label == "gripper" ||
         (label.size() > kSuffix.size() && label.compare(label.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0);
}

std::vector<int> GripperIndices(const VectorSpace& space) {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(space.labels.size()); ++i) {
    if (IsGripperLabel(space.labels[i])) out.push_back(i);
  }
  return out;
}

std::vector<int> ContinuousIndices(const VectorSpace& space) {
  std::vector<int> out;
  for (int i = 0; i < space.size(); ++i) {
    if (i >= static_cast<int>(space.labels.size()) || !IsGripperLabel(space.labels[i])) out.push_back(i);
  }
  return out;
}

std::vector<std::string> ArmPrefixes(const VectorSpace& space, const std::string& label) {
  std::vector<std::string> out;
  for (const auto& l : space.labels) {
    if (l == label) {
      out.emplace_back();
    } else if (l.size() > label.size() + 1 && l.compare(l.size() - label.size() - 1, label.size() + 1, "_" + label) == 0) {
      out.push_back(l.substr(0, l.size() - label.size()));
    }
  }
  return out;
}

}  // namespace hilserl
