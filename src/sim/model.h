// Loading MuJoCo models with clear errors, and RAII owners for mjModel/mjData.
#pragma once

#include <memory>
#include <string>

#include <mujoco/mujoco.h>

namespace hilserl::sim {

struct ModelDeleter {
  void operator()(mjModel* m) const { mj_deleteModel(m); }
};
struct DataDeleter {
  void operator()(mjData* d) const { mj_deleteData(d); }
};
using ModelPtr = std::unique_ptr<mjModel, ModelDeleter>;
using DataPtr = std::unique_ptr<mjData, DataDeleter>;

// Loads an MJCF (or MJB) file. Throws NotFound if the file is missing and InvalidArgument
// with MuJoCo's own message (element, line) if it does not compile.
// The offscreen buffer is grown to at least offscreen_width x offscreen_height.
ModelPtr LoadModel(const std::string& path, int offscreen_width = 0, int offscreen_height = 0);

DataPtr MakeData(const mjModel* model);

// Ids by name; each throws NotFound naming the kind, the name and the model file.
int BodyId(const mjModel* m, const std::string& name);
int JointId(const mjModel* m, const std::string& name);
int ActuatorId(const mjModel* m, const std::string& name);
int SiteId(const mjModel* m, const std::string& name);
int CameraId(const mjModel* m, const std::string& name);
int GeomId(const mjModel* m, const std::string& name);
int KeyId(const mjModel* m, const std::string& name);

}  // namespace hilserl::sim
