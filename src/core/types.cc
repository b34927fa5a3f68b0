#include "core/types.h"

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {
namespace {

template <typename Map>
std::string KeyList(const Map& m) {
  std::string keys;
  for (const auto& [k, v] : m) keys += (keys.empty() ? "" : ", ") + k;
  return keys.empty() ? "(none)" : keys;
}

}  // namespace

const std::vector<float>& Observation::Proprio(const std::string& name) const {
  auto it = proprio.find(name);
  if (it == proprio.end()) {
    throw NotFound(fmt::format("observation has no proprio entry '{}' (available: {})", name,
                               KeyList(proprio)));
  }
  return it->second;
}

const Image& Observation::GetImage(const std::string& name) const {
  auto it = images.find(name);
  if (it == images.end()) {
    throw NotFound(fmt::format("observation has no camera image '{}' (available: {})", name,
                               KeyList(images)));
  }
  return it->second;
}

}  // namespace hilserl
