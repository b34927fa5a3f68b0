// Replay buffer that stores every observation once.
//
// Observations live in a ring of slots; a transition is (slot i, slot i + 1): the next
// observation of one step is the observation of the following step, so each camera frame
// is stored once. The last observation of an episode occupies a slot that starts no
// transition, so a sample never straddles two episodes. When the ring wraps, the oldest
// slots are overwritten.
//
// Threading: not thread-safe. The learner owns its buffers; actors hand transitions to
// the learner through a queue (runtime/), and the learner thread inserts and samples.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/spaces.h"
#include "core/types.h"

namespace hilserl {

// Cached encoder features of one camera: `size` floats per observation.
struct FeatureSpec {
  std::string name;  // the camera
  int size = 0;
  bool operator==(const FeatureSpec&) const = default;
};

// What the buffer stores per observation, in order: the proprio vectors (flattened in
// this order into one float vector), the camera images, and cached encoder features
// (bfloat16, flattened in this order into one vector).
struct ReplayLayout {
  std::vector<VectorSpace> proprio;
  std::vector<ImageSpace> images;
  std::vector<FeatureSpec> features;
  int action_dim = 0;

  static ReplayLayout From(const ObservationSpec& spec, int action_dim);
  // Proprio of `spec` plus cached features instead of images: what a learner with a
  // frozen encoder stores (the frames themselves are never needed again).
  static ReplayLayout WithFeatures(const ObservationSpec& spec, int action_dim, std::vector<FeatureSpec> features);
  int proprio_dim() const;
  int feature_dim() const;
  // Flattens obs's proprio in layout order; throws DataLoss if an entry is missing/short.
  void FlattenProprio(const Observation& obs, float* out) const;
  // Flattens obs's encoder features in layout order; throws DataLoss if one is missing/short.
  void FlattenFeatures(const Observation& obs, float* out) const;
  bool operator==(const ReplayLayout&) const = default;
  std::string Describe() const;
};

// One environment step as the actor saw it.
struct StepRecord {
  uint64_t episode_id = 0;  // unique per actor episode
  int step = 0;             // index of `observation` within the episode (0 = after reset)
  const Observation* observation = nullptr;
  const Observation* next_observation = nullptr;
  Action action;
  float reward = 0.0f;
  bool terminated = false;
  bool truncated = false;
  float grasp_penalty = 0.0f;
  bool intervened = false;
};

// A sampled batch as flat arrays, B rows each (row-major).
struct SampleBatch {
  int size = 0;
  // Row width of obs / next_obs: proprio_dim, or proprio_dim + feature_dim when the batch
  // packs the features into the observation rows (Resize with pack_features): then every
  // row is [proprio | features], what an agent with an encoder reads, with no copy.
  int obs_width = 0;
  bool packed = false;
  std::vector<float> obs;       // [B, obs_width]
  std::vector<float> next_obs;  // [B, obs_width]
  std::map<std::string, std::vector<uint8_t>> images;       // camera -> [B, H, W, 3]
  std::map<std::string, std::vector<uint8_t>> next_images;  // camera -> [B, H, W, 3]
  std::vector<float> features;       // [B, feature_dim] cached encoder features (empty if packed)
  std::vector<float> next_features;  // [B, feature_dim]
  std::vector<float> actions;        // [B, action_dim]
  std::vector<float> rewards;        // [B]
  std::vector<float> terminated;     // [B] 1 = no bootstrap
  std::vector<float> grasp_penalty;  // [B]
  std::vector<float> intervened;     // [B]

  // Sizes every array for `n` rows of `layout`.
  void Resize(const ReplayLayout& layout, int n, bool pack_features = false);
};

class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, ReplayLayout layout);

  // Adds one step. If the buffer's most recent slot holds this record's observation
  // (same episode, step - 1 had it as next observation), it is reused; otherwise the
  // observation is stored first (start of an episode or of an intervention segment).
  void Add(const StepRecord& record);

  // Fills rows [offset, offset + count) of `batch` (sized with Resize) with uniformly
  // sampled transitions. Throws InternalError if the buffer holds no transition.
  void SampleInto(int offset, int count, Rng& rng, SampleBatch* batch) const;

  int64_t size() const { return num_transitions_; }  // sampleable transitions
  int64_t capacity() const { return capacity_; }
  const ReplayLayout& layout() const { return layout_; }
  // Bytes of storage per slot (observation + transition fields) and at full capacity
  // (observation storage grows as slots fill).
  size_t bytes_per_slot() const;
  size_t bytes_allocated() const;
  int64_t total_added() const { return total_added_; }

  // Per-component mean and standard deviation of the stored proprio vectors (every
  // occupied slot, each observation once). Throws InternalError if the buffer is empty.
  void ProprioStats(std::vector<double>* mean, std::vector<double>* stddev) const;

  // Saves to `path` atomically (temp file + rename) with a checksum. Load refuses a file
  // that is truncated, corrupt, or written for another layout: DataLoss naming the file
  // and the problem; the buffer is unchanged then.
  void Save(const std::string& path) const;
  void Load(const std::string& path);

 private:
  int64_t WriteObservation(const Observation& obs);
  void Reserve(int64_t slots);  // observation storage for at least `slots` slots
  void SetValid(int64_t slot, bool valid);

  int64_t capacity_;
  ReplayLayout layout_;
  int proprio_dim_;
  std::vector<float> proprio_;                 // [C, proprio_dim]
  std::vector<std::vector<uint8_t>> images_;   // per camera [C, H*W*3]
  int feature_dim_;
  std::vector<uint16_t> features_;             // [C, feature_dim] bfloat16
  std::vector<float> actions_;                 // [C, action_dim] (transition starting at slot)
  std::vector<float> rewards_, terminated_, grasp_penalty_, intervened_;
  std::vector<uint8_t> valid_;                 // transition (slot, slot+1) is sampleable
  std::vector<uint64_t> slot_episode_;
  std::vector<int32_t> slot_step_;
  int64_t allocated_slots_ = 0;  // slots the observation storage currently holds
  int64_t head_ = 0;       // next slot to write
  int64_t filled_ = 0;     // slots written (<= capacity)
  int64_t last_slot_ = -1; // most recently written slot
  int64_t num_transitions_ = 0;
  int64_t total_added_ = 0;
};

}  // namespace hilserl
