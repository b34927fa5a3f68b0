// Conversions between the transport's C++ types and the protobuf messages of
// proto/hilserl.proto. Everything received is checked against the learner's replay
// layout and the learner's value limits: a missing or mis-sized entry, a non-finite
// number or a value beyond the limits (reward, action bounds, observation magnitude)
// throws InvalidArgument naming the batch, transition and entry.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dist/transport.h"
#include "hilserl.pb.h"

namespace hilserl::dist {

void ToProto(const Observation& obs, const ReplayLayout& layout, proto::Observation* out);
std::shared_ptr<Observation> FromProto(const proto::Observation& in, const ReplayLayout& layout,
                                       const ValueLimits& limits, const std::string& where);

// with_obs = false omits the observation (it is the previous transition's next_obs).
void ToProto(const Transition& t, bool with_obs, const ReplayLayout& layout, proto::Transition* out);
std::vector<Transition> FromProto(const proto::TransitionBatch& batch, const ReplayLayout& layout,
                                  const ValueLimits& limits);

void ToProto(const NamedArray& a, proto::Tensor* out);
NamedArray FromProto(const proto::Tensor& t);

}  // namespace hilserl::dist
