#include "agents/reward_classifier.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/rng.h"

namespace hilserl {
namespace {

// Synthetic classifier data: 64x64 frames of two cameras with a grey, noisy background;
// "success" frames show a bright red 12x12 square somewhere in the front camera.
Episode SyntheticEpisode(Rng& rng, int frames) {
  Episode ep;
  for (int t = 0; t < frames; ++t) {
    Observation o;
    for (const char* cam : {"front", "wrist"}) {
      Image img(64, 64);
      for (auto& v : img.data) v = static_cast<uint8_t>(90 + rng.UniformInt(40));
      o.images[cam] = img;
    }
    const bool success = t >= frames / 2;
    if (success) {
      const int r0 = static_cast<int>(rng.UniformInt(40)), c0 = static_cast<int>(rng.UniformInt(40));
      Image& img = o.images["front"];
      for (int r = r0; r < r0 + 12; ++r)
        for (int c = c0; c < c0 + 12; ++c) {
          img.at(r, c, 0) = 250;
          img.at(r, c, 1) = 20;
          img.at(r, c, 2) = 20;
        }
    }
    ep.observations.push_back(std::move(o));
    ep.labels.push_back(success ? 1 : 0);
  }
  return ep;
}

TEST(ShiftImageTest, ShiftsAndRepeatsTheBorder) {
  Image img(3, 4, 1);
  for (int i = 0; i < 12; ++i) img.data[i] = static_cast<uint8_t>(i);
  const Image s = ShiftImage(img, 1, -1);  // output (r, c) = input (r - 1, c + 1), clamped
  EXPECT_EQ(s.at(0, 0, 0), img.at(0, 1, 0));
  EXPECT_EQ(s.at(1, 0, 0), img.at(0, 1, 0));
  EXPECT_EQ(s.at(2, 3, 0), img.at(1, 3, 0));
  EXPECT_EQ(ShiftImage(img, 0, 0).data, img.data);
}

TEST(RewardClassifierTest, LearnsSuccessFramesAndGeneralisesToHeldOutEpisodes) {
  Rng rng(11);
  std::vector<Episode> episodes;
  for (int e = 0; e < 6; ++e) episodes.push_back(SyntheticEpisode(rng, 12));
  ClassifierOptions o;
  o.steps = 120;
  o.batch = 32;
  o.lr = 1e-3;
  o.augmentations = 1;
  o.shift_pad = 4;
  o.holdout = 0.34;  // 2 of 6 episodes
  o.bottleneck = 32;
  o.spatial_features = 2;
  RewardClassifier clf({"front", "wrist"}, 64, "", 5, o);
  const ClassifierReport r = clf.Train(episodes);
  EXPECT_EQ(r.test_frames, 24);
  EXPECT_EQ(r.test_positive, 12);
  EXPECT_EQ(r.train_frames, 4 * 12 * 2);  // each frame plus one shifted copy
  EXPECT_LT(r.final_loss, r.first_loss);
  EXPECT_GE(r.test_accuracy, 0.9) << "train " << r.train_accuracy;
  // Saved and loaded, it gives the same probabilities.
  const std::string dir = (std::filesystem::temp_directory_path() / "hilserl_classifier").string();
  clf.Save(dir);
  auto loaded = RewardClassifier::Load(dir);
  const Observation& success_frame = episodes.back().observations.back();
  const Observation& failure_frame = episodes.back().observations.front();
  EXPECT_NEAR(loaded->Probability(success_frame), clf.Probability(success_frame), 1e-5);
  EXPECT_GT(loaded->Probability(success_frame), 0.5);
  EXPECT_LT(loaded->Probability(failure_frame), 0.5);
  EXPECT_THROW(RewardClassifier::Load(dir + "_missing"), NotFound);
}

TEST(RewardClassifierTest, RefusesDataWithoutLabelsOrWithOneClass) {
  Rng rng(2);
  ClassifierOptions o;
  o.steps = 1;
  o.augmentations = 0;
  RewardClassifier clf({"front", "wrist"}, 64, "", 0, o);
  std::vector<Episode> eps = {SyntheticEpisode(rng, 4), SyntheticEpisode(rng, 4)};
  eps[0].labels.clear();
  EXPECT_THROW(clf.Train(eps), InvalidArgument);
  eps[0] = SyntheticEpisode(rng, 4);
  for (auto& e : eps) std::fill(e.labels.begin(), e.labels.end(), 0);
  EXPECT_THROW(clf.Train(eps), InvalidArgument);
}

}  // namespace
}  // namespace hilserl
