#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/episode_dataset.h"
#include "data/replay_buffer.h"

namespace hilserl {
namespace {

// Observations whose content encodes (episode, step): proprio "s" = [episode, step] and a
// 2x2 image filled with the step number.
ObservationSpec Spec(bool images) {
  ObservationSpec s;
  s.proprio.push_back({"s", {"episode", "step"}, {-1e6f, -1e6f}, {1e6f, 1e6f}});
  if (images) s.images.push_back({"cam", 2, 2, 3});
  return s;
}

Observation Obs(int episode, int step, bool images) {
  Observation o;
  o.proprio["s"] = {static_cast<float>(episode), static_cast<float>(step)};
  if (images) {
    Image im(2, 2);
    std::fill(im.data.begin(), im.data.end(), static_cast<uint8_t>(step));
    o.images["cam"] = im;
  }
  return o;
}

// Adds an episode of `length` steps; reward = step, terminated on the last step.
void AddEpisode(ReplayBuffer& b, int episode, int length, bool images) {
  std::vector<Observation> obs;
  for (int t = 0; t <= length; ++t) obs.push_back(Obs(episode, t, images));
  for (int t = 0; t < length; ++t) {
    StepRecord r;
    r.episode_id = episode;
    r.step = t;
    r.observation = &obs[t];
    r.next_observation = &obs[t + 1];
    r.action = {static_cast<float>(t)};
    r.reward = static_cast<float>(t);
    r.terminated = t + 1 == length;
    b.Add(r);
  }
}

TEST(ReplayBufferTest, StoresEachFrameOnceAndNeverStraddlesEpisodes) {
  ReplayBuffer b(100, ReplayLayout::From(Spec(true), 1));
  AddEpisode(b, 0, 5, true);
  AddEpisode(b, 1, 7, true);
  EXPECT_EQ(b.size(), 12);  // 12 transitions in 14 observation slots
  Rng rng(0);
  SampleBatch batch;
  batch.Resize(b.layout(), 256);
  b.SampleInto(0, 256, rng, &batch);
  std::set<std::pair<int, int>> seen;
  for (int i = 0; i < 256; ++i) {
    const float ep = batch.obs[2 * i], step = batch.obs[2 * i + 1];
    EXPECT_EQ(batch.next_obs[2 * i], ep);             // same episode
    EXPECT_EQ(batch.next_obs[2 * i + 1], step + 1);   // the next step
    EXPECT_EQ(batch.actions[i], step);
    EXPECT_EQ(batch.rewards[i], step);
    EXPECT_EQ(batch.terminated[i], (ep == 0 && step == 4) || (ep == 1 && step == 6) ? 1.0f : 0.0f);
    EXPECT_EQ(batch.images["cam"][12 * i], static_cast<uint8_t>(step));
    EXPECT_EQ(batch.next_images["cam"][12 * i], static_cast<uint8_t>(step + 1));
    seen.insert({static_cast<int>(ep), static_cast<int>(step)});
  }
  EXPECT_EQ(seen.size(), 12u);  // uniform sampling reaches every transition
}

TEST(ReplayBufferTest, ProprioStatsCountEachStoredObservationOnce) {
  ReplayBuffer b(100, ReplayLayout::From(Spec(false), 1));
  std::vector<double> mean, stddev;
  EXPECT_THROW(b.ProprioStats(&mean, &stddev), InternalError);
  AddEpisode(b, 2, 3, false);  // observations (2, 0..3)
  b.ProprioStats(&mean, &stddev);
  ASSERT_EQ(mean.size(), 2u);
  EXPECT_DOUBLE_EQ(mean[0], 2.0);
  EXPECT_DOUBLE_EQ(stddev[0], 0.0);
  EXPECT_DOUBLE_EQ(mean[1], 1.5);
  EXPECT_DOUBLE_EQ(stddev[1], std::sqrt(1.25));  // population std of 0, 1, 2, 3
}

TEST(ReplayBufferTest, CachedFeaturesAreStoredAsBfloat16AndSampledWithTheirNextFrame) {
  ReplayLayout layout = ReplayLayout::WithFeatures(Spec(true), 1, {{"cam", 3}});
  EXPECT_TRUE(layout.images.empty());  // features replace the frames
  ReplayBuffer b(50, layout);
  EXPECT_EQ(b.bytes_per_slot(), ReplayBuffer(50, ReplayLayout::From(Spec(false), 1)).bytes_per_slot() + 3 * 2);
  std::vector<Observation> obs;
  for (int t = 0; t <= 4; ++t) {
    Observation o = Obs(0, t, false);
    o.features["cam"] = {static_cast<float>(t), 0.5f * static_cast<float>(t), -1000.25f};
    obs.push_back(o);
  }
  for (int t = 0; t < 4; ++t) {
    StepRecord r;
    r.step = t;
    r.observation = &obs[t];
    r.next_observation = &obs[t + 1];
    r.action = {0.0f};
    b.Add(r);
  }
  Rng rng(3);
  SampleBatch batch;
  batch.Resize(b.layout(), 16);
  b.SampleInto(0, 16, rng, &batch);
  for (int i = 0; i < 16; ++i) {
    const float step = batch.obs[2 * i + 1];
    EXPECT_EQ(batch.features[3 * i], step);  // small integers are exact in bfloat16
    EXPECT_EQ(batch.next_features[3 * i], step + 1);
    EXPECT_EQ(batch.features[3 * i + 1], 0.5f * step);
    EXPECT_NEAR(batch.features[3 * i + 2], -1000.25f, 4.0f);  // 8-bit mantissa
  }
  // Round trip through a file keeps the features.
  const std::string path = (std::filesystem::temp_directory_path() / "hilserl_features.rb").string();
  b.Save(path);
  ReplayBuffer c(50, layout);
  c.Load(path);
  SampleBatch again;
  again.Resize(c.layout(), 16);
  Rng rng2(3);
  c.SampleInto(0, 16, rng2, &again);
  Rng rng3(3);
  b.SampleInto(0, 16, rng3, &batch);
  EXPECT_EQ(again.features, batch.features);
  // Packed rows [proprio | features] hold the same values as the separate arrays.
  SampleBatch packed;
  packed.Resize(b.layout(), 16, /*pack_features=*/true);
  EXPECT_EQ(packed.obs_width, 2 + 3);
  EXPECT_TRUE(packed.features.empty());
  Rng rng4(3);
  b.SampleInto(0, 16, rng4, &packed);
  for (int i = 0; i < 16; ++i) {
    for (int k = 0; k < 2; ++k) EXPECT_EQ(packed.obs[5 * i + k], batch.obs[2 * i + k]);
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(packed.obs[5 * i + 2 + k], batch.features[3 * i + k]);
      EXPECT_EQ(packed.next_obs[5 * i + 2 + k], batch.next_features[3 * i + k]);
    }
  }
  // An observation without its features is refused, naming them.
  Observation bare = Obs(1, 0, false);
  StepRecord r;
  r.episode_id = 1;
  r.observation = &bare;
  r.next_observation = &bare;
  r.action = {0.0f};
  try {
    b.Add(r);
    FAIL() << "observation without features accepted";
  } catch (const DataLoss& e) {
    EXPECT_NE(std::string(e.what()).find("cam"), std::string::npos) << e.what();
  }
}

TEST(ReplayBufferTest, InterventionSegmentsStoreTheirFirstObservation) {
  // A demo buffer receives isolated segments of an episode: steps 3-4 and 7.
  ReplayBuffer b(50, ReplayLayout::From(Spec(false), 1));
  std::vector<Observation> obs;
  for (int t = 0; t <= 10; ++t) obs.push_back(Obs(9, t, false));
  for (int t : {3, 4, 7}) {
    StepRecord r;
    r.episode_id = 9;
    r.step = t;
    r.observation = &obs[t];
    r.next_observation = &obs[t + 1];
    r.action = {static_cast<float>(t)};
    b.Add(r);
  }
  EXPECT_EQ(b.size(), 3);
  Rng rng(1);
  SampleBatch batch;
  batch.Resize(b.layout(), 64);
  b.SampleInto(0, 64, rng, &batch);
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(batch.next_obs[2 * i + 1], batch.obs[2 * i + 1] + 1);
    EXPECT_EQ(batch.actions[i], batch.obs[2 * i + 1]);
  }
}

TEST(ReplayBufferTest, WrapsAroundDroppingTheOldest) {
  ReplayBuffer b(10, ReplayLayout::From(Spec(false), 1));
  for (int e = 0; e < 6; ++e) AddEpisode(b, e, 3, false);  // 24 slots into 10
  EXPECT_LE(b.size(), 9);
  Rng rng(2);
  SampleBatch batch;
  batch.Resize(b.layout(), 200);
  b.SampleInto(0, 200, rng, &batch);
  for (int i = 0; i < 200; ++i) {
    EXPECT_GE(batch.obs[2 * i], 3.0f);  // episodes 0-2 are gone
    EXPECT_EQ(batch.next_obs[2 * i], batch.obs[2 * i]);
    EXPECT_EQ(batch.next_obs[2 * i + 1], batch.obs[2 * i + 1] + 1);
  }
}

TEST(ReplayBufferTest, RejectsMismatchedInput) {
  ReplayBuffer b(10, ReplayLayout::From(Spec(true), 2));
  Observation o = Obs(0, 0, true), n = Obs(0, 1, true);
  StepRecord r;
  r.observation = &o;
  r.next_observation = &n;
  r.action = {0.f};  // wrong size
  EXPECT_THROW(b.Add(r), DataLoss);
  r.action = {0.f, 0.f};
  n.images["cam"] = Image(3, 3);
  EXPECT_THROW(b.Add(r), DataLoss);
  EXPECT_THROW(ReplayBuffer(1, ReplayLayout::From(Spec(false), 1)), InvalidArgument);
}

TEST(ReplayBufferTest, SaveLoadRoundTripAndCorruptFilesAreRefused) {
  const auto dir = std::filesystem::temp_directory_path() / "hilserl_replay_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "buf.bin").string();
  ReplayBuffer a(40, ReplayLayout::From(Spec(true), 1));
  AddEpisode(a, 0, 6, true);
  AddEpisode(a, 1, 4, true);
  a.Save(path);
  ReplayBuffer b(40, ReplayLayout::From(Spec(true), 1));
  b.Load(path);
  EXPECT_EQ(b.size(), a.size());
  Rng r1(5), r2(5);
  SampleBatch s1, s2;
  s1.Resize(a.layout(), 32);
  s2.Resize(b.layout(), 32);
  a.SampleInto(0, 32, r1, &s1);
  b.SampleInto(0, 32, r2, &s2);
  EXPECT_EQ(s1.obs, s2.obs);
  EXPECT_EQ(s1.images, s2.images);

  // Truncated: refused, and the buffer keeps its contents.
  const auto size = std::filesystem::file_size(path);
  std::filesystem::copy_file(path, dir / "trunc.bin", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(dir / "trunc.bin", size / 2);
  EXPECT_THROW(b.Load((dir / "trunc.bin").string()), DataLoss);
  EXPECT_EQ(b.size(), a.size());
  // One flipped byte: checksum mismatch.
  std::filesystem::copy_file(path, dir / "flip.bin", std::filesystem::copy_options::overwrite_existing);
  {
    std::fstream f(dir / "flip.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    char c;
    f.read(&c, 1);
    c ^= 0x5a;
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.write(&c, 1);
  }
  try {
    b.Load((dir / "flip.bin").string());
    FAIL();
  } catch (const DataLoss& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
  // Another layout.
  ReplayBuffer c(40, ReplayLayout::From(Spec(false), 1));
  EXPECT_THROW(c.Load(path), DataLoss);
  std::filesystem::remove_all(dir);
}

Episode MakeEpisode(int length, bool images) {
  Episode ep;
  ep.seed = 77;
  ep.success = true;
  for (int t = 0; t <= length; ++t) ep.observations.push_back(Obs(0, t, images));
  for (int t = 0; t < length; ++t) {
    ep.actions.push_back({0.1f * t, -0.1f * t});
    ep.rewards.push_back(t + 1 == length ? 1.f : 0.f);
    ep.grasp_penalty.push_back(0.f);
    ep.terminated.push_back(t + 1 == length);
    ep.truncated.push_back(0);
    ep.intervened.push_back(t % 2);
  }
  return ep;
}

TEST(EpisodeDatasetTest, RoundTripThroughHdf5) {
  const auto path = (std::filesystem::temp_directory_path() / "hilserl_demos_test.h5").string();
  {
    EpisodeWriter w(path, DatasetInfo{"toy", 0.1, {"x", "gripper"}});
    w.Write(MakeEpisode(5, true));
    w.Write(MakeEpisode(3, true));
    w.Close();
  }
  DatasetInfo info;
  const auto eps = ReadEpisodes(path, &info);
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(info.task, "toy");
  EXPECT_EQ(info.action_labels, (std::vector<std::string>{"x", "gripper"}));
  EXPECT_EQ(eps[0].length(), 5);
  EXPECT_EQ(eps[1].length(), 3);
  EXPECT_EQ(eps[0].seed, 77u);
  EXPECT_TRUE(eps[0].success);
  const Episode ref = MakeEpisode(5, true);
  EXPECT_EQ(eps[0].actions, ref.actions);
  EXPECT_EQ(eps[0].intervened, ref.intervened);
  EXPECT_EQ(eps[0].observations[4].proprio, ref.observations[4].proprio);
  EXPECT_EQ(eps[0].observations[4].images.at("cam"), ref.observations[4].images.at("cam"));
  EXPECT_NO_THROW(CheckEpisodesMatch(eps, Spec(true), 2, path));
  EXPECT_THROW(CheckEpisodesMatch(eps, Spec(false), 2, path), DataLoss);
  EXPECT_THROW(CheckEpisodesMatch(eps, Spec(true), 3, path), DataLoss);
  std::filesystem::remove(path);
}

TEST(EpisodeDatasetTest, AbsurdValuesInADemoFileAreRefusedNamingFileEpisodeAndStep) {
  const auto path = (std::filesystem::temp_directory_path() / "hilserl_demos_absurd.h5").string();
  ValueLimits limits;
  limits.max_abs_reward = 10;
  limits.max_abs_observation = 1e6;
  limits.actions = VectorSpace{"action", {"x", "gripper"}, {-1, -1}, {1, 1}};
  auto refused = [&](std::function<void(Episode&)> poison, const std::string& words) {
    {
      EpisodeWriter w(path, DatasetInfo{"toy", 0.1, {"x", "gripper"}});
      w.Write(MakeEpisode(5, false));
      Episode bad = MakeEpisode(5, false);
      poison(bad);
      w.Write(bad);
      w.Close();
    }
    const auto eps = ReadEpisodes(path);
    try {
      CheckEpisodeValues(eps, limits, path);
      ADD_FAILURE() << "accepted: " << words;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(path + ": episode 1 "), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  refused([](Episode& ep) { ep.rewards[3] = 3e38f; }, "step 3: reward 3e+38 is beyond +-10");
  refused([](Episode& ep) { ep.grasp_penalty[2] = -1e30f; }, "step 2: grasp penalty");
  refused([](Episode& ep) { ep.actions[4][0] = 1e30f; }, "step 4: action component 0 ('x') is 1e+30");
  refused([](Episode& ep) { ep.observations[2].proprio["s"][1] = 1e30f; },
          "observation 2: proprio 's' value 1 is 1e+30, beyond +-1e+06");
  // Good files pass.
  {
    EpisodeWriter w(path, DatasetInfo{"toy", 0.1, {"x", "gripper"}});
    w.Write(MakeEpisode(5, false));
    w.Close();
  }
  EXPECT_NO_THROW(CheckEpisodeValues(ReadEpisodes(path), limits, path));
  std::filesystem::remove(path);
}

TEST(EpisodeDatasetTest, TruncatedOrForeignFilesAreRefused) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto path = (dir / "hilserl_demos_trunc.h5").string();
  {
    EpisodeWriter w(path, DatasetInfo{"toy", 0.1, {}});
    for (int i = 0; i < 3; ++i) w.Write(MakeEpisode(20, true));
  }
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  EXPECT_THROW(ReadEpisodes(path), DataLoss);
  const auto text = (dir / "hilserl_not_hdf5.h5").string();
  std::ofstream(text) << "hello";
  EXPECT_THROW(ReadEpisodes(text), DataLoss);
  EXPECT_THROW(ReadEpisodes((dir / "does_not_exist.h5").string()), NotFound);
  std::filesystem::remove(path);
  std::filesystem::remove(text);
}

}  // namespace
}  // namespace hilserl
