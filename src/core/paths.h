// Where hilserl finds its assets/ and configs/.
#pragma once

#include <string>

namespace hilserl {

// The project root: $HILSERL_ROOT if set, else the source tree the binary was built from.
std::string ProjectRoot();
// `path` if absolute or existing relative to the working directory, else ProjectRoot()/path.
std::string ResolvePath(const std::string& path);

}  // namespace hilserl
