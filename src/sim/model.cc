#include "sim/model.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl::sim {

ModelPtr LoadModel(const std::string& path, int offscreen_width, int offscreen_height) {
  if (!std::filesystem::exists(path)) {
    throw NotFound(fmt::format("MuJoCo model file '{}' does not exist", path));
  }
  char error[1024] = {0};
  mjModel* m = nullptr;
  if (path.size() > 4 && path.substr(path.size() - 4) == ".mjb") {
    m = mj_loadModel(path.c_str(), nullptr);
    if (m == nullptr) std::snprintf(error, sizeof(error), "not a valid MJB file");
  } else {
    m = mj_loadXML(path.c_str(), nullptr, error, sizeof(error));
  }
  if (m == nullptr) {
    throw InvalidArgument(fmt::format("could not load MuJoCo model '{}': {}", path, error));
  }
  m->vis.global.offwidth = std::max(m->vis.global.offwidth, offscreen_width);
  m->vis.global.offheight = std::max(m->vis.global.offheight, offscreen_height);
  return ModelPtr(m);
}

DataPtr MakeData(const mjModel* model) {
  mjData* d = mj_makeData(model);
  HILSERL_CHECK(d != nullptr, "mj_makeData failed (out of memory?)");
  return DataPtr(d);
}

namespace {
int IdOrThrow(const mjModel* m, mjtObj type, const char* kind, const std::string& name) {
  const int id = mj_name2id(m, type, name.c_str());
  if (id < 0) {
    throw NotFound(fmt::format("the MuJoCo model has no {} named '{}'", kind, name));
  }
  return id;
}
}  // namespace

int BodyId(const mjModel* m, const std::string& n) { return IdOrThrow(m, mjOBJ_BODY, "body", n); }
int JointId(const mjModel* m, const std::string& n) { return IdOrThrow(m, mjOBJ_JOINT, "joint", n); }
int ActuatorId(const mjModel* m, const std::string& n) {
  return IdOrThrow(m, mjOBJ_ACTUATOR, "actuator", n);
}
int SiteId(const mjModel* m, const std::string& n) { return IdOrThrow(m, mjOBJ_SITE, "site", n); }
int CameraId(const mjModel* m, const std::string& n) {
  return IdOrThrow(m, mjOBJ_CAMERA, "camera", n);
}
int GeomId(const mjModel* m, const std::string& n) { return IdOrThrow(m, mjOBJ_GEOM, "geom", n); }
int KeyId(const mjModel* m, const std::string& n) { return IdOrThrow(m, mjOBJ_KEY, "keyframe", n); }

}  // namespace hilserl::sim
