#include "agents/reward_classifier.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/rng.h"
#include "nn/resnet.h"
#include "nn/safetensors.h"

namespace hilserl {

Image ShiftImage(const Image& image, int dx, int dy) {
  Image out(image.height, image.width, image.channels);
  const size_t c = static_cast<size_t>(image.channels);
  for (int r = 0; r < image.height; ++r) {
    const int sr = std::clamp(r + dy, 0, image.height - 1);
    for (int col = 0; col < image.width; ++col) {
      const int sc = std::clamp(col + dx, 0, image.width - 1);
      std::copy_n(&image.data[(static_cast<size_t>(sr) * image.width + sc) * c], c,
                  &out.data[(static_cast<size_t>(r) * image.width + col) * c]);
    }
  }
  return out;
}

RewardClassifier::RewardClassifier(std::vector<std::string> cameras, int image_size,
                                   const std::string& backbone_weights, uint64_t backbone_seed,
                                   const ClassifierOptions& options)
    : cameras_(std::move(cameras)), image_size_(image_size), options_(options) {
  if (options_.steps < 1 || options_.batch < 2 || !(options_.lr > 0) || options_.augmentations < 0 ||
      options_.shift_pad < 0 || !(options_.holdout >= 0 && options_.holdout < 1)) {
    throw InvalidArgument("reward classifier: need steps >= 1, batch >= 2, lr > 0, augmentations >= 0, "
                          "shift_pad >= 0 and holdout in [0, 1)");
  }
  backbone_ = std::make_unique<nn::FrozenBackbone>(cameras_, image_size_, backbone_weights, backbone_seed);
  head_ = std::make_shared<torch::nn::Module>();
  cameras_heads_ = head_->register_module("cameras", torch::nn::ModuleList());
  for (size_t i = 0; i < cameras_.size(); ++i) {
    cameras_heads_->push_back(nn::ImageHead(backbone_->channels(), backbone_->feature_height(),
                                            backbone_->feature_width(), options_.bottleneck,
                                            options_.spatial_features, 0.0));
  }
  dense_ = head_->register_module(
      "dense", torch::nn::Linear(options_.bottleneck * static_cast<int64_t>(cameras_.size()), 256));
  dropout_ = head_->register_module("dropout", torch::nn::Dropout(options_.dropout));
  norm_ = head_->register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({256})));
  out_ = head_->register_module("out", torch::nn::Linear(256, 1));
  head_->eval();
}

torch::Tensor RewardClassifier::Logits(const torch::Tensor& features) {
  const int64_t n = backbone_->feature_size();
  HILSERL_CHECK(features.dim() == 2 && features.size(1) == n * static_cast<int64_t>(cameras_.size()),
                "reward classifier: feature rows have the wrong width");
  std::vector<torch::Tensor> parts;
  for (size_t i = 0; i < cameras_.size(); ++i) {
    const torch::Tensor map = features.slice(1, static_cast<int64_t>(i) * n, static_cast<int64_t>(i + 1) * n)
                                  .reshape({features.size(0), backbone_->channels(), backbone_->feature_height(),
                                            backbone_->feature_width()});
    parts.push_back(cameras_heads_[i]->as<nn::ImageHead>()->forward(map));
  }
  torch::Tensor x = dense_->forward(torch::cat(parts, 1));
  x = torch::relu(norm_->forward(dropout_->forward(x)));
  return out_->forward(x).squeeze(1);
}

torch::Tensor RewardClassifier::Encode(const std::vector<Observation*>& frames) {
  backbone_->EncodeMany(frames);
  const int64_t n = backbone_->feature_size(), cams = static_cast<int64_t>(cameras_.size());
  torch::Tensor out = torch::empty({static_cast<int64_t>(frames.size()), cams * n});
  for (size_t i = 0; i < frames.size(); ++i) {
    float* row = out.data_ptr<float>() + static_cast<int64_t>(i) * cams * n;
    for (int64_t c = 0; c < cams; ++c) {
      const auto& f = frames[i]->features.at(cameras_[c]);
      std::copy(f.begin(), f.end(), row + c * n);
    }
    frames[i]->features.clear();
  }
  return out;
}

double RewardClassifier::Probability(const Observation& obs) {
  torch::NoGradGuard no_grad;
  Observation o;
  for (const auto& cam : cameras_) o.images[cam] = obs.GetImage(cam);
  return torch::sigmoid(Logits(Encode({&o}))).item<double>();
}

ClassifierReport RewardClassifier::Train(const std::vector<Episode>& episodes,
                                         const std::function<void(int, double)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  if (episodes.empty()) throw InvalidArgument("reward classifier: no episodes to train on");
  for (size_t e = 0; e < episodes.size(); ++e) {
    if (episodes[e].labels.size() != episodes[e].observations.size()) {
      throw InvalidArgument(fmt::format("reward classifier: episode {} has no success labels (record the data with "
                                        "`hilserl record-labels`)", e));
    }
  }
  // Held-out episodes: `holdout` of them (at least one when there are two or more), spread
  // evenly over the recording so that every kind of episode tends to appear on both sides.
  const size_t n_test = episodes.size() < 2 ? 0
                        : std::max<size_t>(1, static_cast<size_t>(std::lround(options_.holdout * episodes.size())));
  std::vector<bool> held_out(episodes.size(), false);
  for (size_t i = 0; i < n_test; ++i) held_out[(2 * i + 1) * episodes.size() / (2 * n_test)] = true;
  Rng rng(options_.seed);
  torch::manual_seed(options_.seed);
  // Encode: training frames with augmented copies, held-out frames as they are.
  std::vector<Observation> train_frames, test_frames;
  std::vector<float> train_labels, test_labels;
  for (size_t e = 0; e < episodes.size(); ++e) {
    for (size_t t = 0; t < episodes[e].observations.size(); ++t) {
      Observation o;
      for (const auto& cam : cameras_) o.images[cam] = episodes[e].observations[t].GetImage(cam);
      const float label = episodes[e].labels[t] ? 1.0f : 0.0f;
      if (held_out[e]) {
        test_frames.push_back(std::move(o));
        test_labels.push_back(label);
        continue;
      }
      for (int k = 0; k < options_.augmentations; ++k) {
        Observation shifted;
        for (const auto& cam : cameras_) {
          const int dx = static_cast<int>(rng.UniformInt(2 * options_.shift_pad + 1)) - options_.shift_pad;
          const int dy = static_cast<int>(rng.UniformInt(2 * options_.shift_pad + 1)) - options_.shift_pad;
          shifted.images[cam] = ShiftImage(o.images.at(cam), dx, dy);
        }
        train_frames.push_back(std::move(shifted));
        train_labels.push_back(label);
      }
      train_frames.push_back(std::move(o));
      train_labels.push_back(label);
    }
  }
  auto encode_all = [&](std::vector<Observation>& frames) {
    std::vector<Observation*> ptrs;
    for (auto& f : frames) ptrs.push_back(&f);
    torch::Tensor x = frames.empty() ? torch::empty({0, 0}) : Encode(ptrs);
    frames.clear();
    return x;
  };
  const torch::Tensor x_train = encode_all(train_frames), x_test = encode_all(test_frames);
  const torch::Tensor y_train = torch::tensor(train_labels), y_test = torch::tensor(test_labels);
  const torch::Tensor pos = torch::nonzero(y_train > 0.5).squeeze(1), neg = torch::nonzero(y_train < 0.5).squeeze(1);
  if (pos.numel() == 0 || neg.numel() == 0) {
    throw InvalidArgument(fmt::format("reward classifier: the training episodes hold {} success and {} failure frames; "
                                      "both kinds are needed", pos.numel(), neg.numel()));
  }
  ClassifierReport report;
  const int64_t per_class = options_.batch / 2;
  torch::optim::Adam opt(head_->parameters(), torch::optim::AdamOptions(options_.lr));
  head_->train();
  std::vector<double> losses;
  for (int step = 0; step < options_.steps; ++step) {
    const torch::Tensor pi = pos.index_select(0, torch::randint(pos.numel(), {per_class}, torch::kLong));
    const torch::Tensor ni = neg.index_select(0, torch::randint(neg.numel(), {per_class}, torch::kLong));
    const torch::Tensor idx = torch::cat({pi, ni});
    const torch::Tensor loss = torch::binary_cross_entropy_with_logits(Logits(x_train.index_select(0, idx)),
                                                                       y_train.index_select(0, idx));
    opt.zero_grad();
    loss.backward();
    opt.step();
    losses.push_back(loss.item<double>());
    if (progress) progress(step + 1, losses.back());
  }
  head_->eval();
  const size_t tenth = std::max<size_t>(1, losses.size() / 10);
  for (size_t i = 0; i < tenth; ++i) {
    report.first_loss += losses[i] / static_cast<double>(tenth);
    report.final_loss += losses[losses.size() - 1 - i] / static_cast<double>(tenth);
  }
  torch::NoGradGuard no_grad;
  auto accuracy = [&](const torch::Tensor& x, const torch::Tensor& y, double* fp_rate, double* fn_rate) {
    if (x.size(0) == 0) return std::nan("");
    torch::Tensor logits = torch::empty({x.size(0)});
    for (int64_t b = 0; b < x.size(0); b += 512) {
      const int64_t e = std::min<int64_t>(x.size(0), b + 512);
      logits.slice(0, b, e).copy_(Logits(x.slice(0, b, e)));
    }
    const torch::Tensor said = logits > 0, truth = y > 0.5;  // threshold 0.5 on the sigmoid
    if (fp_rate) {
      const double negatives = (~truth).sum().item<double>(), positives = truth.sum().item<double>();
      *fp_rate = negatives > 0 ? (said & ~truth).sum().item<double>() / negatives : std::nan("");
      *fn_rate = positives > 0 ? (~said & truth).sum().item<double>() / positives : std::nan("");
    }
    return (said == truth).to(torch::kFloat).mean().item<double>();
  };
  report.train_frames = static_cast<int>(x_train.size(0));
  report.train_positive = static_cast<int>(pos.numel());
  report.test_frames = static_cast<int>(x_test.size(0));
  report.test_positive = static_cast<int>(y_test.sum().item<double>());
  report.train_accuracy = accuracy(x_train, y_train, nullptr, nullptr);
  report.test_accuracy = accuracy(x_test, y_test, &report.test_false_positive_rate, &report.test_false_negative_rate);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

void RewardClassifier::Save(const std::string& dir) const {
  namespace fs = std::filesystem;
  const fs::path final_dir(dir), tmp = dir + ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  std::string cams;
  for (const auto& c : cameras_) cams += (cams.empty() ? "" : ",") + c;
  nn::SaveSafetensors((tmp / "classifier.safetensors").string(), nn::StateDict(*head_),
                      {{"format", "hilserl-reward-classifier"},
                       {"cameras", cams},
                       {"image_size", std::to_string(image_size_)},
                       {"spatial_features", std::to_string(options_.spatial_features)},
                       {"bottleneck", std::to_string(options_.bottleneck)}});
  nn::SaveSafetensors((tmp / "backbone.safetensors").string(), backbone_->Weights(),
                      {{"format", "resnet10"}, {"source", backbone_->source()}});
  if (fs::exists(final_dir)) fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
}

std::unique_ptr<RewardClassifier> RewardClassifier::Load(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path head = fs::path(dir) / "classifier.safetensors", backbone = fs::path(dir) / "backbone.safetensors";
  if (!fs::exists(head) || !fs::exists(backbone)) {
    throw NotFound(fmt::format("'{}' is not a reward classifier directory (needs classifier.safetensors and "
                               "backbone.safetensors; `hilserl train-classifier` writes one)", dir));
  }
  nn::Metadata meta;
  const nn::TensorMap weights = nn::LoadSafetensors(head.string(), &meta);
  if (meta["format"] != "hilserl-reward-classifier") {
    throw DataLoss(fmt::format("'{}' is not a reward classifier (format '{}')", head.string(), meta["format"]));
  }
  std::vector<std::string> cameras;
  std::string cam;
  for (char ch : meta["cameras"] + ",") {
    if (ch == ',') {
      if (!cam.empty()) cameras.push_back(cam);
      cam.clear();
    } else {
      cam += ch;
    }
  }
  ClassifierOptions o;
  int image_size = 0;
  try {
    image_size = std::stoi(meta.at("image_size"));
    o.spatial_features = std::stoll(meta.at("spatial_features"));
    o.bottleneck = std::stoll(meta.at("bottleneck"));
  } catch (const std::exception&) {
    throw DataLoss(fmt::format("'{}' lacks valid image_size/spatial_features/bottleneck metadata", head.string()));
  }
  if (cameras.empty()) throw DataLoss(fmt::format("'{}' names no cameras", head.string()));
  auto clf = std::make_unique<RewardClassifier>(cameras, image_size, backbone.string(), 0, o);
  nn::LoadStateDict(*clf->head_, weights, head.string());
  clf->head_->eval();
  return clf;
}

}  // namespace hilserl
