#include "nn/pretrain.h"

#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "nn/resnet.h"

namespace hilserl::nn {
namespace {
namespace F = torch::nn::functional;

// uint8 [B, H, W, 3] -> two augmented float views [B, 3, S, S], ImageNet-normalised.
torch::Tensor Augment(const torch::Tensor& frames_u8, int size) {
  const int64_t b = frames_u8.size(0), h = frames_u8.size(1), w = frames_u8.size(2);
  const torch::Tensor x = frames_u8.permute({0, 3, 1, 2}).to(torch::kFloat) / 255.0;
  std::vector<torch::Tensor> out;
  out.reserve(b);
  for (int64_t i = 0; i < b; ++i) {
    // Random resized crop: 60-100% of the side, anywhere in the frame.
    const double scale = 0.6 + 0.4 * torch::rand({1}).item<double>();
    const int64_t ch = std::max<int64_t>(8, static_cast<int64_t>(scale * static_cast<double>(h)));
    const int64_t cw = std::max<int64_t>(8, static_cast<int64_t>(scale * static_cast<double>(w)));
    const int64_t top = torch::randint(0, h - ch + 1, {1}).item<int64_t>();
    const int64_t left = torch::randint(0, w - cw + 1, {1}).item<int64_t>();
    torch::Tensor crop = x[i].slice(1, top, top + ch).slice(2, left, left + cw).unsqueeze(0);
    crop = F::interpolate(crop, F::InterpolateFuncOptions()
                                    .size(std::vector<int64_t>{size, size})
                                    .mode(torch::kBilinear)
                                    .align_corners(false));
    out.push_back(crop);
  }
  torch::Tensor v = torch::cat(out, 0);
  // Brightness and contrast jitter (+-20%), per image.
  const torch::Tensor brightness = 0.8 + 0.4 * torch::rand({b, 1, 1, 1});
  const torch::Tensor contrast = 0.8 + 0.4 * torch::rand({b, 1, 1, 1});
  const torch::Tensor mean = v.mean({1, 2, 3}, true);
  v = ((v - mean) * contrast + mean) * brightness;
  v = v.clamp(0.0, 1.0);
  const torch::Tensor m = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  const torch::Tensor s = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  return ((v - m) / s).contiguous(torch::MemoryFormat::ChannelsLast);
}

}  // namespace

PretrainResult PretrainBackbone(const std::vector<Image>& frames, const PretrainOptions& o,
                                const std::function<void(int, double, double)>& progress) {
  if (frames.size() < 2) throw InvalidArgument("pretrain-encoder: need at least 2 frames");
  if (o.steps < 1 || o.batch < 2) throw InvalidArgument("pretrain-encoder: steps >= 1 and batch >= 2 required");
  if (o.train_size < 32 || o.train_size % 32 != 0) {
    throw InvalidArgument(fmt::format("pretrain-encoder: train size must be a multiple of 32, got {}", o.train_size));
  }
  const int h = frames.front().height, w = frames.front().width;
  for (const Image& f : frames) {
    if (f.height != h || f.width != w || f.channels != 3) {
      throw InvalidArgument(fmt::format("pretrain-encoder: frames must all be {}x{}x3, found {}x{}x{}", h, w, f.height,
                                        f.width, f.channels));
    }
  }
  if (h < o.train_size || w < o.train_size) {
    throw InvalidArgument(fmt::format("pretrain-encoder: frames ({}x{}) are smaller than the train size {}", h, w,
                                      o.train_size));
  }
  torch::manual_seed(o.seed);
  ResNet10 net;
  for (auto& p : net->parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  }
  torch::nn::Sequential projection(torch::nn::Linear(512, 256), torch::nn::ReLU(), torch::nn::Linear(256, 128));
  std::vector<torch::Tensor> params = net->parameters();
  for (const auto& p : projection->parameters()) params.push_back(p);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(o.lr));

  const int64_t batch = std::min<int64_t>(o.batch, static_cast<int64_t>(frames.size()));
  const int64_t per_frame = static_cast<int64_t>(h) * w * 3;
  std::vector<double> losses, accuracies;
  const auto t0 = std::chrono::steady_clock::now();
  for (int step = 0; step < o.steps; ++step) {
    const torch::Tensor pick = torch::randperm(static_cast<int64_t>(frames.size())).slice(0, 0, batch);
    torch::Tensor u8 = torch::empty({batch, h, w, 3}, torch::kUInt8);
    for (int64_t i = 0; i < batch; ++i) {
      std::memcpy(u8.data_ptr<uint8_t>() + i * per_frame, frames[pick[i].item<int64_t>()].data.data(), per_frame);
    }
    const torch::Tensor views = torch::cat({Augment(u8, o.train_size), Augment(u8, o.train_size)}, 0);  // [2B, ...]
    const torch::Tensor pooled = net->forward(views).mean({2, 3});                                       // [2B, 512]
    const torch::Tensor z = F::normalize(projection->forward(pooled), F::NormalizeFuncOptions().dim(1));
    torch::Tensor logits = torch::mm(z, z.t()) / o.temperature;
    logits = logits - 1e9 * torch::eye(2 * batch);  // a view is not its own positive
    const torch::Tensor twin = torch::cat({torch::arange(batch, 2 * batch), torch::arange(0, batch)});
    const torch::Tensor loss = F::cross_entropy(logits, twin);
    opt.zero_grad();
    loss.backward();
    opt.step();
    const double l = loss.item<double>();
    if (!std::isfinite(l)) throw InternalError(fmt::format("pretrain-encoder: loss became {} at step {}", l, step));
    const double acc = (logits.argmax(1) == twin).to(torch::kFloat).mean().item<double>();
    losses.push_back(l);
    accuracies.push_back(acc);
    if (progress) progress(step + 1, l, acc);
  }
  PretrainResult r;
  const size_t k = std::max<size_t>(1, losses.size() / 10);
  for (size_t i = 0; i < k; ++i) {
    r.first_loss += losses[i] / static_cast<double>(k);
    r.first_accuracy += accuracies[i] / static_cast<double>(k);
    r.final_loss += losses[losses.size() - 1 - i] / static_cast<double>(k);
    r.final_accuracy += accuracies[losses.size() - 1 - i] / static_cast<double>(k);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& [name, t] : StateDict(*net)) r.backbone[name] = t.contiguous().clone();
  return r;
}

}  // namespace hilserl::nn
