#include "core/paths.h"

#include <cstdlib>
#include <filesystem>

namespace hilserl {

std::string ProjectRoot() {
  if (const char* env = std::getenv("HILSERL_ROOT"); env != nullptr && *env != '\0') return env;
  return HILSERL_DEFAULT_ROOT;
}

std::string ResolvePath(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return path;
  const fs::path p(path);
  if (p.is_absolute() || fs::exists(p)) return path;
  return (fs::path(ProjectRoot()) / p).string();
}

}  // namespace hilserl
