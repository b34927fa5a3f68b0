#include "core/error.h"

#include <fmt/format.h>

namespace hilserl {

void ThrowCheckFailure(const char* condition, const char* file, int line,
                       const std::string& message) {
  throw InternalError(fmt::format("internal error at {}:{}: check '{}' failed: {}", file, line,
                                  condition, message));
}

}  // namespace hilserl
