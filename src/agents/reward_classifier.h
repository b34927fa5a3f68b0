// The learned binary success classifier that gives HIL-SERL its reward on a real robot
// (the official HIL-SERL implementation): frozen ResNet-10 -> per camera spatial embeddings and
// bottleneck (nn::ImageHead) -> concat -> Dense 256 -> Dropout 0.1 -> LayerNorm -> ReLU
// -> Dense 1 (logit of "this frame shows success"). Trained with binary cross-entropy on
// balanced batches (half positive, half negative frames) with random-shift augmentation.
//
// Data: HDF5 episodes with per-observation labels (`hilserl record-labels`). The split
// into training and held-out frames is by episode, so near-identical neighbouring frames
// never sit on both sides. Augmentation happens before the frozen backbone: each training
// frame is encoded unshifted and `augmentations` more times with a random shift of up to
// `shift_pad` pixels (replicate border), so training itself costs only head updates.
//
// A saved classifier is a directory: classifier.safetensors (head; metadata: cameras,
// image size, head sizes) and backbone.safetensors (the frozen ResNet-10 it was trained
// with). wrappers/reward_classifier.h turns its probability into reward and termination.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/types.h>

#include "data/episode_dataset.h"
#include "nn/backbone.h"
#include "nn/encoder.h"

namespace hilserl {

struct ClassifierOptions {
  int steps = 1000;
  int batch = 256;             // half positive, half negative
  double lr = 1e-4;
  int augmentations = 3;       // shifted copies of each training frame
  int shift_pad = 8;           // pixels (at 128 px; DrQ uses 4 at 84 px)
  double holdout = 0.2;        // share of episodes held out for evaluation
  int64_t spatial_features = 8;
  int64_t bottleneck = 256;
  double dropout = 0.1;
  uint64_t seed = 0;
};

struct ClassifierReport {
  int train_frames = 0, train_positive = 0, test_frames = 0, test_positive = 0;
  double train_accuracy = 0, test_accuracy = 0;
  double test_false_positive_rate = 0;  // negatives called success
  double test_false_negative_rate = 0;  // positives missed
  double first_loss = 0, final_loss = 0;
  double seconds = 0;
};

class RewardClassifier {
 public:
  // backbone_weights: ResNet-10 safetensors ("" = random init with backbone_seed).
  RewardClassifier(std::vector<std::string> cameras, int image_size, const std::string& backbone_weights,
                   uint64_t backbone_seed, const ClassifierOptions& options = {});

  // P(success) for one observation holding every camera's image.
  double Probability(const Observation& obs);
  // Logits [B] for backbone features [B, cameras x feature_size] (training and tests).
  torch::Tensor Logits(const torch::Tensor& features);

  // Trains on labelled episodes (every camera image present in every observation).
  // `progress(step, loss)` after each step (may be null). Throws InvalidArgument if the
  // data has no positive or no negative frame, or no labels.
  ClassifierReport Train(const std::vector<Episode>& episodes,
                         const std::function<void(int, double)>& progress = nullptr);

  void Save(const std::string& dir) const;
  // Throws NotFound / DataLoss naming the file.
  static std::unique_ptr<RewardClassifier> Load(const std::string& dir);

  const std::vector<std::string>& cameras() const { return cameras_; }
  int image_size() const { return image_size_; }

 private:
  torch::Tensor Encode(const std::vector<Observation*>& frames);  // [N, cameras x feature_size]
  std::vector<std::string> cameras_;
  int image_size_;
  ClassifierOptions options_;
  std::unique_ptr<nn::FrozenBackbone> backbone_;
  std::shared_ptr<torch::nn::Module> head_;  // owns the modules below
  torch::nn::ModuleList cameras_heads_{nullptr};
  torch::nn::Linear dense_{nullptr}, out_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};

// Shifts an RGB image by (dx, dy) pixels, repeating the border (random-shift augmentation).
Image ShiftImage(const Image& image, int dx, int dy);

}  // namespace hilserl
