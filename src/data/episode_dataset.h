// Episode datasets (demonstrations, classifier data) in HDF5, readable with h5py.
//
// File layout (format "hilserl-episodes", version 1):
//   /                      attrs: format, version, task, control_dt, action_labels (comma list)
//   /episodes/NNNNNN/      one group per episode, attrs: seed (u64), success (u8)
//       observations/<proprio name>   float32 [T+1, d]
//       images/<camera>               uint8   [T+1, H, W, 3]
//       actions                       float32 [T, A]   (in the policy's [-1, 1] space)
//       rewards, grasp_penalty        float32 [T]
//       terminated, truncated, intervened   uint8 [T]
//       labels (optional)             uint8   [T+1]  classifier data: 1 = observation t shows
//                                                     success (hilserl record-labels)
// Observation t and t+1 bracket action t. Files are written to "<path>.tmp" and renamed
// on Close(), so a crash never leaves a half-written dataset under the real name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/spaces.h"
#include "core/types.h"
#include "data/value_limits.h"

namespace hilserl {

struct Episode {
  uint64_t seed = 0;
  bool success = false;
  std::vector<Observation> observations;  // T + 1
  std::vector<Action> actions;            // T
  std::vector<float> rewards, grasp_penalty;
  std::vector<uint8_t> terminated, truncated, intervened;
  std::vector<uint8_t> labels;  // optional, T + 1: success label of each observation

  int length() const { return static_cast<int>(actions.size()); }
  // Throws DataLoss if the per-step arrays disagree in length.
  void CheckConsistent(const std::string& where) const;
};

struct DatasetInfo {
  std::string task;
  double control_dt = 0.1;
  std::vector<std::string> action_labels;
};

class EpisodeWriter {
 public:
  // Creates "<path>.tmp"; throws Unavailable if it cannot.
  EpisodeWriter(const std::string& path, const DatasetInfo& info);
  ~EpisodeWriter();  // closes (and renames) if Close() was not called
  void Write(const Episode& episode);
  void Close();
  int episodes() const { return count_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
  int count_ = 0;
};

// Reads every episode. Throws NotFound, or DataLoss naming the file, episode and dataset
// when the file is not a hilserl episode file, is truncated, or its arrays disagree.
std::vector<Episode> ReadEpisodes(const std::string& path, DatasetInfo* info = nullptr);

// Throws DataLoss if the episodes' observations do not match `spec` or actions do not
// have `action_dim` values, naming the file, episode and entry.
void CheckEpisodesMatch(const std::vector<Episode>& episodes, const ObservationSpec& spec, int action_dim,
                        const std::string& source);

// Throws InvalidArgument naming the file (`source`), episode, step and field if a reward,
// grasp penalty, action or proprio value is non-finite or beyond `limits` (what a
// learner accepts from demonstrations).
void CheckEpisodeValues(const std::vector<Episode>& episodes, const ValueLimits& limits, const std::string& source);

}  // namespace hilserl
