#include "dist/messages.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/bfloat16.h"
#include "core/error.h"

namespace hilserl::dist {

void ToProto(const Observation& obs, const ReplayLayout& layout, proto::Observation* out) {
  for (const auto& space : layout.proprio) {
    auto it = obs.proprio.find(space.name);
    if (it == obs.proprio.end()) throw InvalidArgument(fmt::format("observation lacks proprio '{}'", space.name));
    auto& v = (*out->mutable_proprio())[space.name];
    v.mutable_values()->Assign(it->second.begin(), it->second.end());
  }
  for (const auto& f : layout.features) {
    auto it = obs.features.find(f.name);
    if (it == obs.features.end()) throw InvalidArgument(fmt::format("observation lacks features of '{}'", f.name));
    std::string bytes(it->second.size() * 2, '\0');
    for (size_t i = 0; i < it->second.size(); ++i) {
      const uint16_t h = FloatToBfloat16(it->second[i]);
      bytes[2 * i] = static_cast<char>(h & 0xff);
      bytes[2 * i + 1] = static_cast<char>(h >> 8);
    }
    (*out->mutable_features_bf16())[f.name] = std::move(bytes);
  }
  for (const auto& space : layout.images) {
    const Image& img = obs.GetImage(space.name);
    proto::Image& p = (*out->mutable_images())[space.name];
    p.set_height(img.height);
    p.set_width(img.width);
    p.set_channels(img.channels);
    p.set_data(img.data.data(), img.data.size());
  }
}

namespace {

bool AllFinite(const float* v, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<Observation> FromProto(const proto::Observation& in, const ReplayLayout& layout,
                                       const ValueLimits& limits, const std::string& where) {
  auto obs = std::make_shared<Observation>();
  for (const auto& space : layout.proprio) {
    auto it = in.proprio().find(space.name);
    if (it == in.proprio().end()) throw InvalidArgument(fmt::format("{}: proprio '{}' is missing", where, space.name));
    const auto& values = it->second.values();
    if (values.size() != space.size()) {
      throw InvalidArgument(fmt::format("{}: proprio '{}' has {} values, expected {}", where, space.name,
                                        values.size(), space.size()));
    }
    if (!AllFinite(values.data(), static_cast<size_t>(values.size()))) {
      throw InvalidArgument(fmt::format("{}: proprio '{}' holds a non-finite value", where, space.name));
    }
    obs->proprio[space.name].assign(values.begin(), values.end());
  }
  for (const auto& f : layout.features) {
    auto it = in.features_bf16().find(f.name);
    if (it == in.features_bf16().end()) {
      throw InvalidArgument(fmt::format("{}: features of '{}' are missing", where, f.name));
    }
    if (it->second.size() != static_cast<size_t>(f.size) * 2) {
      throw InvalidArgument(fmt::format("{}: features of '{}' have {} bytes, expected {} ({} bfloat16 values)", where,
                                        f.name, it->second.size(), 2 * f.size, f.size));
    }
    std::vector<float>& dst = obs->features[f.name];
    dst.resize(f.size);
    const auto* b = reinterpret_cast<const unsigned char*>(it->second.data());
    for (int i = 0; i < f.size; ++i) dst[i] = Bfloat16ToFloat(static_cast<uint16_t>(b[2 * i] | (b[2 * i + 1] << 8)));
    if (!AllFinite(dst.data(), dst.size())) {
      throw InvalidArgument(fmt::format("{}: features of '{}' hold a non-finite value", where, f.name));
    }
  }
  for (const auto& space : layout.images) {
    auto it = in.images().find(space.name);
    if (it == in.images().end()) throw InvalidArgument(fmt::format("{}: image '{}' is missing", where, space.name));
    const proto::Image& p = it->second;
    if (p.height() != space.height || p.width() != space.width || p.channels() != space.channels ||
        p.data().size() != static_cast<size_t>(space.height) * space.width * space.channels) {
      throw InvalidArgument(fmt::format("{}: image '{}' is {}x{}x{} ({} bytes), expected {}x{}x{}", where, space.name,
                                        p.height(), p.width(), p.channels(), p.data().size(), space.height,
                                        space.width, space.channels));
    }
    Image img(space.height, space.width, space.channels);
    std::memcpy(img.data.data(), p.data().data(), img.data.size());
    obs->images[space.name] = std::move(img);
  }
  limits.CheckObservation(*obs, where);
  return obs;
}

std::vector<Transition> FromProto(const proto::TransitionBatch& batch, const ReplayLayout& layout,
                                  const ValueLimits& limits) {
  if (batch.transitions_size() > kMaxBatchTransitions) {
    throw InvalidArgument(fmt::format("batch {} has {} transitions, at most {} are allowed", batch.seq(),
                                      batch.transitions_size(), kMaxBatchTransitions));
  }
  std::vector<Transition> out;
  out.reserve(static_cast<size_t>(batch.transitions_size()));
  for (int i = 0; i < batch.transitions_size(); ++i) {
    const proto::Transition& p = batch.transitions(i);
    const std::string where = fmt::format("batch {} of actor {:x}, transition {}", batch.seq(), batch.actor_id(), i);
    Transition t;
    t.episode_id = p.episode_id();
    t.step = p.step();
    if (p.has_obs()) {
      t.obs = FromProto(p.obs(), layout, limits, where + " obs");
    } else {
      if (out.empty() || out.back().episode_id != t.episode_id || out.back().step + 1 != t.step) {
        throw InvalidArgument(fmt::format("{}: the observation is omitted but the transition does not continue the "
                                          "previous one", where));
      }
      t.obs = out.back().next_obs;
    }
    if (!p.has_next_obs()) throw InvalidArgument(fmt::format("{}: next observation is missing", where));
    t.next_obs = FromProto(p.next_obs(), layout, limits, where + " next_obs");
    if (p.action_size() != layout.action_dim) {
      throw InvalidArgument(fmt::format("{}: action has {} components, expected {}", where, p.action_size(),
                                        layout.action_dim));
    }
    if (!AllFinite(p.action().data(), static_cast<size_t>(p.action_size())) || !std::isfinite(p.reward()) ||
        !std::isfinite(p.grasp_penalty())) {
      throw InvalidArgument(fmt::format("{}: action, reward or grasp penalty is not finite", where));
    }
    t.action.assign(p.action().begin(), p.action().end());
    limits.CheckAction(t.action, where);
    limits.CheckReward(p.reward(), "reward", where);
    limits.CheckReward(p.grasp_penalty(), "grasp penalty", where);
    t.reward = p.reward();
    t.terminated = p.terminated();
    t.truncated = p.truncated();
    t.grasp_penalty = p.grasp_penalty();
    t.intervened = p.intervened();
    t.success = p.success();
    out.push_back(std::move(t));
  }
  return out;
}

void ToProto(const Transition& t, bool with_obs, const ReplayLayout& layout, proto::Transition* out) {
  out->set_episode_id(t.episode_id);
  out->set_step(t.step);
  if (with_obs) ToProto(*t.obs, layout, out->mutable_obs());
  ToProto(*t.next_obs, layout, out->mutable_next_obs());
  out->mutable_action()->Assign(t.action.begin(), t.action.end());
  out->set_reward(t.reward);
  out->set_terminated(t.terminated);
  out->set_truncated(t.truncated);
  out->set_grasp_penalty(t.grasp_penalty);
  out->set_intervened(t.intervened);
  out->set_success(t.success);
}

void ToProto(const NamedArray& a, proto::Tensor* out) {
  out->set_name(a.name);
  out->mutable_shape()->Assign(a.shape.begin(), a.shape.end());
  out->set_data(reinterpret_cast<const char*>(a.values.data()), a.values.size() * sizeof(float));
}

NamedArray FromProto(const proto::Tensor& t) {
  NamedArray a;
  a.name = t.name();
  a.shape.assign(t.shape().begin(), t.shape().end());
  int64_t n = 1;
  for (int64_t d : a.shape) n *= d;
  if (n < 0 || t.data().size() != static_cast<size_t>(n) * sizeof(float)) {
    throw DataLoss(fmt::format("weights tensor '{}' has {} bytes for {} floats", a.name, t.data().size(), n));
  }
  a.values.resize(static_cast<size_t>(n));
  std::memcpy(a.values.data(), t.data().data(), t.data().size());
  return a;
}

}  // namespace hilserl::dist
