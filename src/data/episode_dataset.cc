#include "data/episode_dataset.h"

#include <hdf5.h>

#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {
namespace {

constexpr const char* kFormat = "hilserl-episodes";
constexpr int kVersion = 1;

// RAII for HDF5 ids.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

void SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void WriteAttrString(hid_t obj, const char* name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  H5Awrite(attr.get(), type.get(), value.c_str());
}

template <typename T>
void WriteAttrScalar(hid_t obj, const char* name, hid_t type, T value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(obj, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  H5Awrite(attr.get(), type, &value);
}

bool ReadAttrString(hid_t obj, const char* name, std::string* out) {
  if (H5Aexists(obj, name) <= 0) return false;
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) return false;
  if (H5Tis_variable_str(type.get()) > 0) {
    char* s = nullptr;
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    if (H5Aread(attr.get(), mem.get(), &s) < 0) return false;
    *out = s ? s : "";
    H5free_memory(s);
    return true;
  }
  const size_t n = H5Tget_size(type.get());
  std::string buf(n, '\0');
  if (H5Aread(attr.get(), type.get(), buf.data()) < 0) return false;
  buf.resize(strnlen(buf.c_str(), n));
  *out = buf;
  return true;
}

template <typename T>
bool ReadAttrScalar(hid_t obj, const char* name, hid_t type, T* out) {
  if (H5Aexists(obj, name) <= 0) return false;
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  return H5Aread(attr.get(), type, out) >= 0;
}

void WriteDataset(hid_t group, const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                  const void* data, const std::string& where) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  // Images compress well; chunk per frame.
  Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (dims.size() == 4 && dims[0] > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = 1;
    H5Pset_chunk(plist.get(), 4, chunk.data());
    H5Pset_deflate(plist.get(), 1);
  }
  Handle ds(H5Dcreate2(group, name.c_str(), type, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok() || H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    throw Unavailable(fmt::format("{}: could not write dataset '{}'", where, name));
  }
}

// Reads a dataset of `type` with `rank` dimensions into `out`; returns its dims.
template <typename T>
std::vector<hsize_t> ReadDataset(hid_t group, const std::string& name, hid_t type, int rank,
                                 std::vector<T>* out, const std::string& where) {
  if (H5Lexists(group, name.c_str(), H5P_DEFAULT) <= 0) {
    throw DataLoss(fmt::format("{}: missing dataset '{}'", where, name));
  }
  Handle ds(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  const int r = H5Sget_simple_extent_ndims(space.get());
  if (r != rank) throw DataLoss(fmt::format("{}: dataset '{}' has rank {}, expected {}", where, name, r, rank));
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  size_t n = 1;
  for (hsize_t d : dims) n *= d;
  out->resize(n);
  if (n > 0 && H5Dread(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data()) < 0) {
    throw DataLoss(fmt::format("{}: could not read dataset '{}' (file truncated or corrupt?)", where, name));
  }
  return dims;
}

std::vector<std::string> ListGroup(hid_t group) {
  std::vector<std::string> names;
  H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
             [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
               static_cast<std::vector<std::string>*>(data)->emplace_back(name);
               return 0;
             },
             &names);
  return names;
}

}  // namespace

void Episode::CheckConsistent(const std::string& where) const {
  const size_t t = actions.size();
  if (observations.size() != t + 1 || rewards.size() != t || grasp_penalty.size() != t ||
      terminated.size() != t || truncated.size() != t || intervened.size() != t ||
      (!labels.empty() && labels.size() != t + 1)) {
    throw DataLoss(fmt::format("{}: episode arrays disagree: {} actions, {} observations (expected {}), "
                               "{} rewards", where, t, observations.size(), t + 1, rewards.size()));
  }
}

struct EpisodeWriter::Impl {
  hid_t file = -1;
  hid_t episodes = -1;
};

EpisodeWriter::EpisodeWriter(const std::string& path, const DatasetInfo& info)
    : impl_(std::make_unique<Impl>()), path_(path) {
  SilenceHdf5();
  namespace fs = std::filesystem;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
  const std::string tmp = path + ".tmp";
  impl_->file = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (impl_->file < 0) throw Unavailable(fmt::format("cannot create HDF5 file '{}'", tmp));
  WriteAttrString(impl_->file, "format", kFormat);
  WriteAttrScalar(impl_->file, "version", H5T_NATIVE_INT, kVersion);
  WriteAttrString(impl_->file, "task", info.task);
  WriteAttrScalar(impl_->file, "control_dt", H5T_NATIVE_DOUBLE, info.control_dt);
  std::string labels;
  for (const auto& l : info.action_labels) labels += (labels.empty() ? "" : ",") + l;
  WriteAttrString(impl_->file, "action_labels", labels);
  impl_->episodes = H5Gcreate2(impl_->file, "episodes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

EpisodeWriter::~EpisodeWriter() {
  try {
    Close();
  } catch (...) {
  }
}

void EpisodeWriter::Write(const Episode& ep) {
  HILSERL_CHECK(impl_->file >= 0, "EpisodeWriter used after Close()");
  const std::string where = fmt::format("{} episode {}", path_, count_);
  ep.CheckConsistent(where);
  const std::string name = fmt::format("{:06d}", count_);
  Handle g(H5Gcreate2(impl_->episodes, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  WriteAttrScalar(g.get(), "seed", H5T_NATIVE_UINT64, ep.seed);
  WriteAttrScalar(g.get(), "success", H5T_NATIVE_UINT8, static_cast<uint8_t>(ep.success));
  const hsize_t t = ep.actions.size();
  const hsize_t a = t ? ep.actions[0].size() : 0;
  std::vector<float> actions;
  for (const auto& act : ep.actions) actions.insert(actions.end(), act.begin(), act.end());
  WriteDataset(g.get(), "actions", H5T_NATIVE_FLOAT, {t, a}, actions.data(), where);
  WriteDataset(g.get(), "rewards", H5T_NATIVE_FLOAT, {t}, ep.rewards.data(), where);
  WriteDataset(g.get(), "grasp_penalty", H5T_NATIVE_FLOAT, {t}, ep.grasp_penalty.data(), where);
  WriteDataset(g.get(), "terminated", H5T_NATIVE_UINT8, {t}, ep.terminated.data(), where);
  WriteDataset(g.get(), "truncated", H5T_NATIVE_UINT8, {t}, ep.truncated.data(), where);
  WriteDataset(g.get(), "intervened", H5T_NATIVE_UINT8, {t}, ep.intervened.data(), where);
  if (!ep.labels.empty()) WriteDataset(g.get(), "labels", H5T_NATIVE_UINT8, {t + 1}, ep.labels.data(), where);
  Handle obs(H5Gcreate2(g.get(), "observations", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  for (const auto& [key, v0] : ep.observations[0].proprio) {
    std::vector<float> data;
    for (const auto& o : ep.observations) {
      const auto& v = o.Proprio(key);
      if (v.size() != v0.size()) throw DataLoss(fmt::format("{}: proprio '{}' changes size", where, key));
      data.insert(data.end(), v.begin(), v.end());
    }
    WriteDataset(obs.get(), key, H5T_NATIVE_FLOAT, {t + 1, v0.size()}, data.data(), where);
  }
  Handle imgs(H5Gcreate2(g.get(), "images", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  for (const auto& [cam, im0] : ep.observations[0].images) {
    std::vector<uint8_t> data;
    data.reserve((t + 1) * im0.data.size());
    for (const auto& o : ep.observations) {
      const Image& im = o.GetImage(cam);
      if (im.data.size() != im0.data.size()) throw DataLoss(fmt::format("{}: image '{}' changes size", where, cam));
      data.insert(data.end(), im.data.begin(), im.data.end());
    }
    WriteDataset(imgs.get(), cam, H5T_NATIVE_UINT8,
                 {t + 1, static_cast<hsize_t>(im0.height), static_cast<hsize_t>(im0.width),
                  static_cast<hsize_t>(im0.channels)},
                 data.data(), where);
  }
  ++count_;
}

void EpisodeWriter::Close() {
  if (impl_->file < 0) return;
  H5Gclose(impl_->episodes);
  const herr_t flushed = H5Fflush(impl_->file, H5F_SCOPE_GLOBAL);
  H5Fclose(impl_->file);
  impl_->file = -1;
  if (flushed < 0) throw Unavailable(fmt::format("could not flush '{}.tmp'", path_));
  std::filesystem::rename(path_ + ".tmp", path_);
}

std::vector<Episode> ReadEpisodes(const std::string& path, DatasetInfo* info) {
  SilenceHdf5();
  if (!std::filesystem::exists(path)) throw NotFound(fmt::format("dataset '{}' does not exist", path));
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    throw DataLoss(fmt::format("'{}' is not a readable HDF5 file (truncated or another format?)", path));
  }
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw DataLoss(fmt::format("cannot open HDF5 file '{}' (truncated or corrupt?)", path));
  std::string format;
  int version = 0;
  if (!ReadAttrString(file.get(), "format", &format) || format != kFormat ||
      !ReadAttrScalar(file.get(), "version", H5T_NATIVE_INT, &version)) {
    throw DataLoss(fmt::format("'{}' is not a hilserl episode file (attribute format != '{}')", path, kFormat));
  }
  if (version != kVersion) {
    throw DataLoss(fmt::format("'{}' has episode format version {}, this build reads {}", path, version, kVersion));
  }
  DatasetInfo local;
  ReadAttrString(file.get(), "task", &local.task);
  ReadAttrScalar(file.get(), "control_dt", H5T_NATIVE_DOUBLE, &local.control_dt);
  std::string labels;
  if (ReadAttrString(file.get(), "action_labels", &labels) && !labels.empty()) {
    size_t start = 0;
    while (true) {
      const size_t c = labels.find(',', start);
      local.action_labels.push_back(labels.substr(start, c - start));
      if (c == std::string::npos) break;
      start = c + 1;
    }
  }
  if (info) *info = local;
  if (H5Lexists(file.get(), "episodes", H5P_DEFAULT) <= 0) {
    throw DataLoss(fmt::format("'{}' has no 'episodes' group", path));
  }
  Handle eps(H5Gopen2(file.get(), "episodes", H5P_DEFAULT), H5Gclose);
  std::vector<Episode> out;
  for (const auto& name : ListGroup(eps.get())) {
    const std::string where = fmt::format("{} episode '{}'", path, name);
    Handle g(H5Gopen2(eps.get(), name.c_str(), H5P_DEFAULT), H5Gclose);
    if (!g.ok()) throw DataLoss(fmt::format("{}: cannot open group", where));
    Episode ep;
    uint8_t success = 0;
    ReadAttrScalar(g.get(), "seed", H5T_NATIVE_UINT64, &ep.seed);
    ReadAttrScalar(g.get(), "success", H5T_NATIVE_UINT8, &success);
    ep.success = success != 0;
    std::vector<float> actions;
    const auto adims = ReadDataset(g.get(), "actions", H5T_NATIVE_FLOAT, 2, &actions, where);
    const size_t t = adims[0], a = adims[1];
    for (size_t i = 0; i < t; ++i) ep.actions.emplace_back(actions.begin() + i * a, actions.begin() + (i + 1) * a);
    ReadDataset(g.get(), "rewards", H5T_NATIVE_FLOAT, 1, &ep.rewards, where);
    ReadDataset(g.get(), "grasp_penalty", H5T_NATIVE_FLOAT, 1, &ep.grasp_penalty, where);
    ReadDataset(g.get(), "terminated", H5T_NATIVE_UINT8, 1, &ep.terminated, where);
    ReadDataset(g.get(), "truncated", H5T_NATIVE_UINT8, 1, &ep.truncated, where);
    ReadDataset(g.get(), "intervened", H5T_NATIVE_UINT8, 1, &ep.intervened, where);
    if (H5Lexists(g.get(), "labels", H5P_DEFAULT) > 0) {
      ReadDataset(g.get(), "labels", H5T_NATIVE_UINT8, 1, &ep.labels, where);
    }
    ep.observations.resize(t + 1);
    Handle obs(H5Gopen2(g.get(), "observations", H5P_DEFAULT), H5Gclose);
    if (!obs.ok()) throw DataLoss(fmt::format("{}: missing group 'observations'", where));
    for (const auto& key : ListGroup(obs.get())) {
      std::vector<float> data;
      const auto dims = ReadDataset(obs.get(), key, H5T_NATIVE_FLOAT, 2, &data, where + " observations");
      if (dims[0] != t + 1) {
        throw DataLoss(fmt::format("{}: observations/{} has {} rows, expected {}", where, key, dims[0], t + 1));
      }
      for (size_t i = 0; i <= t; ++i) {
        ep.observations[i].proprio[key].assign(data.begin() + i * dims[1], data.begin() + (i + 1) * dims[1]);
      }
    }
    if (H5Lexists(g.get(), "images", H5P_DEFAULT) > 0) {
      Handle imgs(H5Gopen2(g.get(), "images", H5P_DEFAULT), H5Gclose);
      for (const auto& cam : ListGroup(imgs.get())) {
        std::vector<uint8_t> data;
        const auto dims = ReadDataset(imgs.get(), cam, H5T_NATIVE_UINT8, 4, &data, where + " images");
        if (dims[0] != t + 1) {
          throw DataLoss(fmt::format("{}: images/{} has {} frames, expected {}", where, cam, dims[0], t + 1));
        }
        const size_t frame = dims[1] * dims[2] * dims[3];
        for (size_t i = 0; i <= t; ++i) {
          Image im(static_cast<int>(dims[1]), static_cast<int>(dims[2]), static_cast<int>(dims[3]));
          std::memcpy(im.data.data(), data.data() + i * frame, frame);
          ep.observations[i].images[cam] = std::move(im);
        }
      }
    }
    ep.CheckConsistent(where);
    out.push_back(std::move(ep));
  }
  return out;
}

void CheckEpisodesMatch(const std::vector<Episode>& episodes, const ObservationSpec& spec, int action_dim,
                        const std::string& source) {
  for (size_t e = 0; e < episodes.size(); ++e) {
    const Episode& ep = episodes[e];
    for (size_t t = 0; t < ep.observations.size(); ++t) {
      try {
        spec.CheckMatches(ep.observations[t]);
      } catch (const Error& err) {
        throw DataLoss(fmt::format("{}: episode {} observation {} does not match the env: {}", source, e, t,
                                   err.what()));
      }
    }
    for (const auto& a : ep.actions) {
      if (static_cast<int>(a.size()) != action_dim) {
        throw DataLoss(fmt::format("{}: episode {} has {}-D actions, the env expects {}", source, e, a.size(),
                                   action_dim));
      }
    }
  }
}

void CheckEpisodeValues(const std::vector<Episode>& episodes, const ValueLimits& limits, const std::string& source) {
  for (size_t e = 0; e < episodes.size(); ++e) {
    const Episode& ep = episodes[e];
    for (size_t t = 0; t < ep.observations.size(); ++t) {
      limits.CheckObservation(ep.observations[t], fmt::format("{}: episode {} observation {}", source, e, t));
    }
    for (int t = 0; t < ep.length(); ++t) {
      const std::string where = fmt::format("{}: episode {} step {}", source, e, t);
      limits.CheckAction(ep.actions[t], where);
      limits.CheckReward(ep.rewards[t], "reward", where);
      limits.CheckReward(ep.grasp_penalty[t], "grasp penalty", where);
    }
  }
}

}  // namespace hilserl
