#include "data/replay_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/bfloat16.h"
#include "core/error.h"

namespace hilserl {

// ---- layout ----

ReplayLayout ReplayLayout::From(const ObservationSpec& spec, int action_dim) {
  ReplayLayout l;
  l.proprio = spec.proprio;
  l.images = spec.images;
  l.action_dim = action_dim;
  return l;
}

ReplayLayout ReplayLayout::WithFeatures(const ObservationSpec& spec, int action_dim, std::vector<FeatureSpec> features) {
  ReplayLayout l;
  l.proprio = spec.proprio;
  l.features = std::move(features);
  for (const auto& f : l.features) {
    if (f.size <= 0) throw InvalidArgument(fmt::format("feature '{}' must have a positive size", f.name));
  }
  l.action_dim = action_dim;
  return l;
}

int ReplayLayout::feature_dim() const {
  int n = 0;
  for (const auto& f : features) n += f.size;
  return n;
}

int ReplayLayout::proprio_dim() const {
  int n = 0;
  for (const auto& p : proprio) n += p.size();
  return n;
}

void ReplayLayout::FlattenProprio(const Observation& obs, float* out) const {
  for (const auto& p : proprio) {
    const auto& v = obs.Proprio(p.name);
    if (static_cast<int>(v.size()) != p.size()) {
      throw DataLoss(fmt::format("proprio '{}' has {} values, the buffer layout expects {}", p.name,
                                 v.size(), p.size()));
    }
    std::memcpy(out, v.data(), v.size() * sizeof(float));
    out += v.size();
  }
}

void ReplayLayout::FlattenFeatures(const Observation& obs, float* out) const {
  for (const auto& f : features) {
    auto it = obs.features.find(f.name);
    if (it == obs.features.end() || static_cast<int>(it->second.size()) != f.size) {
      throw DataLoss(fmt::format("observation lacks encoder features '{}' of size {} (has {})", f.name, f.size,
                                 it == obs.features.end() ? std::string("none") : std::to_string(it->second.size())));
    }
    std::memcpy(out, it->second.data(), it->second.size() * sizeof(float));
    out += f.size;
  }
}

std::string ReplayLayout::Describe() const {
  std::string s;
  for (const auto& p : proprio) s += fmt::format("{}[{}] ", p.name, p.size());
  for (const auto& i : images) s += fmt::format("{}[{}x{}x{}] ", i.name, i.height, i.width, i.channels);
  for (const auto& f : features) s += fmt::format("{}.features[bf16 {}] ", f.name, f.size);
  return s + fmt::format("action[{}]", action_dim);
}

void SampleBatch::Resize(const ReplayLayout& layout, int n, bool pack_features) {
  size = n;
  packed = pack_features;
  obs_width = layout.proprio_dim() + (packed ? layout.feature_dim() : 0);
  obs.resize(static_cast<size_t>(n) * obs_width);
  next_obs.resize(static_cast<size_t>(n) * obs_width);
  for (const auto& img : layout.images) {
    const size_t bytes = static_cast<size_t>(img.height) * img.width * img.channels;
    images[img.name].resize(n * bytes);
    next_images[img.name].resize(n * bytes);
  }
  features.resize(packed ? 0 : static_cast<size_t>(n) * layout.feature_dim());
  next_features.resize(packed ? 0 : static_cast<size_t>(n) * layout.feature_dim());
  actions.resize(static_cast<size_t>(n) * layout.action_dim);
  rewards.resize(n);
  terminated.resize(n);
  grasp_penalty.resize(n);
  intervened.resize(n);
}

// ---- buffer ----

ReplayBuffer::ReplayBuffer(int64_t capacity, ReplayLayout layout)
    : capacity_(capacity), layout_(std::move(layout)), proprio_dim_(layout_.proprio_dim()),
      feature_dim_(layout_.feature_dim()) {
  if (capacity < 2) throw InvalidArgument(fmt::format("replay capacity must be >= 2, got {}", capacity));
  if (layout_.action_dim <= 0) throw InvalidArgument("replay layout needs action_dim > 0");
  // Observation storage grows with use (Reserve): a 200k-slot pixel buffer would otherwise
  // claim many GB up front.
  images_.resize(layout_.images.size());
  actions_.assign(static_cast<size_t>(capacity) * layout_.action_dim, 0.0f);
  rewards_.assign(capacity, 0.0f);
  terminated_.assign(capacity, 0.0f);
  grasp_penalty_.assign(capacity, 0.0f);
  intervened_.assign(capacity, 0.0f);
  valid_.assign(capacity, 0);
  slot_episode_.assign(capacity, UINT64_MAX);
  slot_step_.assign(capacity, -1);
}

size_t ReplayBuffer::bytes_per_slot() const {
  size_t b = proprio_dim_ * sizeof(float) + layout_.action_dim * sizeof(float) + 4 * sizeof(float) + 1 +
             sizeof(uint64_t) + sizeof(int32_t);
  for (const auto& img : layout_.images) b += static_cast<size_t>(img.height) * img.width * img.channels;
  b += feature_dim_ * sizeof(uint16_t);
  return b;
}

size_t ReplayBuffer::bytes_allocated() const { return bytes_per_slot() * capacity_; }

void ReplayBuffer::Reserve(int64_t slots) {
  if (slots <= allocated_slots_) return;
  const int64_t n = std::min(capacity_, std::max({slots, 2 * allocated_slots_, int64_t{1024}}));
  proprio_.resize(static_cast<size_t>(n) * proprio_dim_);
  for (size_t c = 0; c < layout_.images.size(); ++c) {
    const ImageSpace& spec = layout_.images[c];
    images_[c].resize(static_cast<size_t>(n) * spec.height * spec.width * spec.channels);
  }
  features_.resize(static_cast<size_t>(n) * feature_dim_);
  allocated_slots_ = n;
}

void ReplayBuffer::SetValid(int64_t slot, bool valid) {
  if (valid_[slot] != static_cast<uint8_t>(valid)) {
    num_transitions_ += valid ? 1 : -1;
    valid_[slot] = valid;
  }
}

void ReplayBuffer::ProprioStats(std::vector<double>* mean, std::vector<double>* stddev) const {
  HILSERL_CHECK(filled_ > 0, "ProprioStats of an empty replay buffer");
  mean->assign(proprio_dim_, 0.0);
  stddev->assign(proprio_dim_, 0.0);
  for (int64_t s = 0; s < filled_; ++s) {
    const float* p = proprio_.data() + s * proprio_dim_;
    for (int i = 0; i < proprio_dim_; ++i) (*mean)[i] += p[i];
  }
  for (double& m : *mean) m /= static_cast<double>(filled_);
  for (int64_t s = 0; s < filled_; ++s) {
    const float* p = proprio_.data() + s * proprio_dim_;
    for (int i = 0; i < proprio_dim_; ++i) {
      const double d = p[i] - (*mean)[i];
      (*stddev)[i] += d * d;
    }
  }
  for (double& v : *stddev) v = std::sqrt(v / static_cast<double>(filled_));
}

int64_t ReplayBuffer::WriteObservation(const Observation& obs) {
  const int64_t slot = head_;
  Reserve(slot + 1);
  // Overwriting this slot removes the transition that started here.
  SetValid(slot, false);
  layout_.FlattenProprio(obs, &proprio_[slot * proprio_dim_]);
  for (size_t c = 0; c < layout_.images.size(); ++c) {
    const ImageSpace& spec = layout_.images[c];
    const Image& img = obs.GetImage(spec.name);
    const size_t bytes = static_cast<size_t>(spec.height) * spec.width * spec.channels;
    if (img.height != spec.height || img.width != spec.width || img.data.size() != bytes) {
      throw DataLoss(fmt::format("image '{}' is {}x{} ({} bytes); the buffer layout expects {}x{}x{}",
                                 spec.name, img.height, img.width, img.data.size(), spec.height,
                                 spec.width, spec.channels));
    }
    std::memcpy(&images_[c][slot * bytes], img.data.data(), bytes);
  }
  if (feature_dim_ > 0) {
    std::vector<float> flat(feature_dim_);
    layout_.FlattenFeatures(obs, flat.data());
    uint16_t* f = features_.data() + slot * feature_dim_;
    for (int k = 0; k < feature_dim_; ++k) f[k] = FloatToBfloat16(flat[k]);
  }
  last_slot_ = slot;
  head_ = (head_ + 1) % capacity_;
  filled_ = std::min(filled_ + 1, capacity_);
  return slot;
}

void ReplayBuffer::Add(const StepRecord& r) {
  HILSERL_CHECK(r.observation != nullptr && r.next_observation != nullptr, "StepRecord without observations");
  if (static_cast<int>(r.action.size()) != layout_.action_dim) {
    throw DataLoss(fmt::format("transition action has {} values, the buffer expects {}", r.action.size(),
                               layout_.action_dim));
  }
  // Reuse the stored observation when this step continues the last one written.
  int64_t slot;
  if (last_slot_ >= 0 && slot_episode_[last_slot_] == r.episode_id && slot_step_[last_slot_] == r.step) {
    slot = last_slot_;
  } else {
    slot = WriteObservation(*r.observation);
    slot_episode_[slot] = r.episode_id;
    slot_step_[slot] = r.step;
  }
  std::memcpy(&actions_[slot * layout_.action_dim], r.action.data(), r.action.size() * sizeof(float));
  rewards_[slot] = r.reward;
  terminated_[slot] = r.terminated ? 1.0f : 0.0f;
  grasp_penalty_[slot] = r.grasp_penalty;
  intervened_[slot] = r.intervened ? 1.0f : 0.0f;
  const int64_t next = WriteObservation(*r.next_observation);
  slot_episode_[next] = r.episode_id;
  slot_step_[next] = r.step + 1;
  // The pair (slot, next) is consecutive in the ring unless the capacity is exhausted.
  HILSERL_CHECK(next == (slot + 1) % capacity_, "replay slots out of order");
  SetValid(slot, true);
  ++total_added_;
}

void ReplayBuffer::SampleInto(int offset, int count, Rng& rng, SampleBatch* b) const {
  HILSERL_CHECK(num_transitions_ > 0, "cannot sample from an empty replay buffer");
  HILSERL_CHECK(offset + count <= b->size, "sample batch too small");
  HILSERL_CHECK(b->obs_width == proprio_dim_ + (b->packed ? feature_dim_ : 0), "sample batch sized for another layout");
  const int a = layout_.action_dim;
  const size_t w = static_cast<size_t>(b->obs_width);
  for (int i = 0; i < count; ++i) {
    int64_t slot;
    do {
      slot = static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(filled_)));
    } while (!valid_[slot]);
    const int64_t next = (slot + 1) % capacity_;
    const int row = offset + i;
    std::memcpy(&b->obs[row * w], &proprio_[slot * proprio_dim_], proprio_dim_ * sizeof(float));
    std::memcpy(&b->next_obs[row * w], &proprio_[next * proprio_dim_], proprio_dim_ * sizeof(float));
    for (size_t c = 0; c < layout_.images.size(); ++c) {
      const ImageSpace& spec = layout_.images[c];
      const size_t bytes = static_cast<size_t>(spec.height) * spec.width * spec.channels;
      std::memcpy(&b->images[spec.name][row * bytes], &images_[c][slot * bytes], bytes);
      std::memcpy(&b->next_images[spec.name][row * bytes], &images_[c][next * bytes], bytes);
    }
    const uint16_t* f = features_.data() + slot * feature_dim_;
    const uint16_t* nf = features_.data() + next * feature_dim_;
    float* out = b->packed ? b->obs.data() + row * w + proprio_dim_
                           : b->features.data() + static_cast<size_t>(row) * feature_dim_;
    float* next_out = b->packed ? b->next_obs.data() + row * w + proprio_dim_
                                : b->next_features.data() + static_cast<size_t>(row) * feature_dim_;
    for (int k = 0; k < feature_dim_; ++k) out[k] = Bfloat16ToFloat(f[k]);
    for (int k = 0; k < feature_dim_; ++k) next_out[k] = Bfloat16ToFloat(nf[k]);
    std::memcpy(&b->actions[row * a], &actions_[slot * a], a * sizeof(float));
    b->rewards[row] = rewards_[slot];
    b->terminated[row] = terminated_[slot];
    b->grasp_penalty[row] = grasp_penalty_[slot];
    b->intervened[row] = intervened_[slot];
  }
}

// ---- persistence ----

namespace {

constexpr char kMagic[8] = {'H', 'S', 'R', 'B', 'U', 'F', '0', '2'};  // 02: + features

uint64_t Fnv1a(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

class Writer {
 public:
  explicit Writer(std::ofstream& out) : out_(out) {}
  template <typename T>
  void Vec(const std::vector<T>& v) { Raw(v.data(), v.size() * sizeof(T)); }
  template <typename T>
  void Pod(const T& v) { Raw(&v, sizeof(T)); }
  void Raw(const void* p, size_t n) {
    out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    hash_ = Fnv1a(p, n, hash_);
  }
  uint64_t hash() const { return hash_; }

 private:
  std::ofstream& out_;
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

class Reader {
 public:
  Reader(std::ifstream& in, std::string path) : in_(in), path_(std::move(path)) {}
  template <typename T>
  void Vec(std::vector<T>* v) { Raw(v->data(), v->size() * sizeof(T)); }
  template <typename T>
  void Pod(T* v) { Raw(v, sizeof(T)); }
  void Raw(void* p, size_t n) {
    in_.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
    if (static_cast<size_t>(in_.gcount()) != n) {
      throw DataLoss(fmt::format("replay file '{}' is truncated", path_));
    }
    hash_ = Fnv1a(p, n, hash_);
  }
  uint64_t hash() const { return hash_; }

 private:
  std::ifstream& in_;
  std::string path_;
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace

void ReplayBuffer::Save(const std::string& path) const {
  namespace fs = std::filesystem;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Unavailable(fmt::format("cannot write '{}'", tmp));
    out.write(kMagic, sizeof(kMagic));
    Writer w(out);
    const std::string layout = layout_.Describe();
    const uint64_t layout_len = layout.size();
    w.Pod(layout_len);
    w.Raw(layout.data(), layout.size());
    w.Pod(capacity_);
    w.Pod(head_);
    w.Pod(filled_);
    w.Pod(last_slot_);
    w.Pod(num_transitions_);
    w.Pod(total_added_);
    // Observation storage: the occupied slots [0, filled) only.
    w.Raw(proprio_.data(), static_cast<size_t>(filled_) * proprio_dim_ * sizeof(float));
    for (size_t c = 0; c < images_.size(); ++c) {
      const ImageSpace& spec = layout_.images[c];
      w.Raw(images_[c].data(), static_cast<size_t>(filled_) * spec.height * spec.width * spec.channels);
    }
    w.Raw(features_.data(), static_cast<size_t>(filled_) * feature_dim_ * sizeof(uint16_t));
    w.Vec(actions_);
    w.Vec(rewards_);
    w.Vec(terminated_);
    w.Vec(grasp_penalty_);
    w.Vec(intervened_);
    w.Vec(valid_);
    w.Vec(slot_episode_);
    w.Vec(slot_step_);
    const uint64_t h = w.hash();
    out.write(reinterpret_cast<const char*>(&h), sizeof(h));
    out.flush();
    if (!out) throw Unavailable(fmt::format("writing '{}' failed (disk full?)", tmp));
  }
  fs::rename(tmp, path);
}

void ReplayBuffer::Load(const std::string& path) {
  if (!std::filesystem::exists(path)) throw NotFound(fmt::format("replay file '{}' does not exist", path));
  std::ifstream in(path, std::ios::binary);
  char magic[8];
  in.read(magic, 8);
  if (in.gcount() != 8 || std::memcmp(magic, kMagic, 8) != 0) {
    throw DataLoss(fmt::format("'{}' is not a hilserl replay buffer file", path));
  }
  // Read into a fresh buffer; swap in only when everything checked out.
  ReplayBuffer fresh(capacity_, layout_);
  Reader r(in, path);
  uint64_t layout_len = 0;
  r.Pod(&layout_len);
  if (layout_len > 1 << 20) throw DataLoss(fmt::format("replay file '{}' has a corrupt header", path));
  std::string layout(layout_len, '\0');
  r.Raw(layout.data(), layout_len);
  if (layout != layout_.Describe()) {
    throw DataLoss(fmt::format("replay file '{}' was written for layout '{}', this buffer has '{}'", path,
                               layout, layout_.Describe()));
  }
  int64_t capacity = 0;
  r.Pod(&capacity);
  if (capacity != capacity_) {
    throw DataLoss(fmt::format("replay file '{}' has capacity {}, this buffer {}", path, capacity, capacity_));
  }
  r.Pod(&fresh.head_);
  r.Pod(&fresh.filled_);
  r.Pod(&fresh.last_slot_);
  r.Pod(&fresh.num_transitions_);
  r.Pod(&fresh.total_added_);
  if (fresh.filled_ < 0 || fresh.filled_ > capacity_) {
    throw DataLoss(fmt::format("replay file '{}' is corrupt (claims {} stored observations, capacity {})", path,
                               fresh.filled_, capacity_));
  }
  fresh.Reserve(fresh.filled_);
  r.Raw(fresh.proprio_.data(), static_cast<size_t>(fresh.filled_) * proprio_dim_ * sizeof(float));
  for (size_t c = 0; c < fresh.images_.size(); ++c) {
    const ImageSpace& spec = layout_.images[c];
    r.Raw(fresh.images_[c].data(), static_cast<size_t>(fresh.filled_) * spec.height * spec.width * spec.channels);
  }
  r.Raw(fresh.features_.data(), static_cast<size_t>(fresh.filled_) * feature_dim_ * sizeof(uint16_t));
  r.Vec(&fresh.actions_);
  r.Vec(&fresh.rewards_);
  r.Vec(&fresh.terminated_);
  r.Vec(&fresh.grasp_penalty_);
  r.Vec(&fresh.intervened_);
  r.Vec(&fresh.valid_);
  r.Vec(&fresh.slot_episode_);
  r.Vec(&fresh.slot_step_);
  uint64_t stored = 0;
  in.read(reinterpret_cast<char*>(&stored), sizeof(stored));
  if (in.gcount() != sizeof(stored)) throw DataLoss(fmt::format("replay file '{}' is truncated", path));
  if (stored != r.hash()) throw DataLoss(fmt::format("replay file '{}' is corrupt (checksum mismatch)", path));
  int64_t valid = 0;
  for (uint8_t v : fresh.valid_) valid += v;
  if (valid != fresh.num_transitions_ || fresh.head_ < 0 || fresh.head_ >= capacity_ || fresh.filled_ > capacity_) {
    throw DataLoss(fmt::format("replay file '{}' has inconsistent counters", path));
  }
  *this = std::move(fresh);
}

}  // namespace hilserl
