// Learner update speed (make bench): one SAC/RLPD update (critic + actor + temperature,
// plus the grasp critic when grippers > 0) at batch 256 with 256x256 MLPs, for a state
// observation (64-D), for cached pixel features (2 cameras x 256 + 64 proprio = 576-D) and
// for pixels with an end-to-end conv encoder (DrQ).
// Reports updates/s and the achieved GFLOP/s against this CPU's peak (about
// 300 GFLOP/s fp32 on one core of these machines).
#include <algorithm>
#include <chrono>
#include <vector>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "agents/sac.h"
#include "nn/backbone.h"
#include "nn/encoder.h"
#include "nn/resnet.h"

namespace hilserl {
namespace {

// Multiply-adds of one Linear over a batch: B * in * out; x2 FLOPs; backward ~2x forward.
double MlpFlops(int64_t batch, int64_t in, const std::vector<int64_t>& hidden, int64_t out, int64_t members = 1) {
  double macs = 0;
  int64_t prev = in;
  for (int64_t h : hidden) {
    macs += static_cast<double>(prev) * h;
    prev = h;
  }
  macs += static_cast<double>(prev) * out;
  return 2.0 * macs * batch * members;
}

// Runs agent.Update on a random batch of `b` rows for every benchmark iteration; returns
// the wall seconds.
double TimeUpdates(benchmark::State& state, SacAgent& agent, int64_t obs_dim, int64_t action_dim, int64_t b,
                   bool gaussian_obs = false) {
  const auto obs = [&] { return gaussian_obs ? torch::randn({b, obs_dim}) : torch::rand({b, obs_dim}); };
  TrainBatch batch{obs(), torch::rand({b, action_dim}) * 2 - 1, torch::rand({b}), torch::zeros({b}), obs(),
                   torch::zeros({b})};
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const UpdateInfo info = agent.Update(batch, true);
    benchmark::DoNotOptimize(info);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void BM_SacUpdate(benchmark::State& state) {
  const int64_t obs_dim = state.range(0);
  const int grippers = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  nn::ConfigureCpuThreads(threads);
  torch::manual_seed(0);
  SacOptions o;
  o.grippers = grippers;
  const int64_t action_dim = 3 + grippers;
  SacAgent agent(obs_dim, action_dim, o);
  const int64_t b = 256;
  const double seconds = TimeUpdates(state, agent, obs_dim, action_dim, b, /*gaussian_obs=*/true);
  // FLOPs of one update, forward + backward (x3 for trained passes, x1 for no-grad passes):
  const std::vector<int64_t> h = o.hidden;
  const int64_t cont = action_dim - grippers;
  const double critic = MlpFlops(b, obs_dim + cont, h, 1, o.critic_ensemble);
  const double policy = MlpFlops(b, obs_dim, h, 2 * cont);
  double flops = policy + critic          // target: policy(s'), target critic (no grad)
                 + 3 * critic             // critic loss fwd + bwd
                 + 3 * policy + 3 * critic;  // actor loss: policy and critic fwd + bwd
  if (grippers > 0) flops += 3 * MlpFlops(b, obs_dim, h, 9) + 2 * MlpFlops(b, obs_dim, h, 9);
  state.SetItemsProcessed(state.iterations());
  const double gflops = flops * static_cast<double>(state.iterations()) / seconds / 1e9;
  state.counters["GFLOPs_per_s"] = gflops;
  state.counters["pct_of_peak"] = 100.0 * gflops / (300.0 * threads);  // fp32 peak ~300 GFLOP/s per core
}
BENCHMARK(BM_SacUpdate)
    ->ArgNames({"obs_dim", "grippers", "threads"})
    ->Args({64, 0, 1})
    ->Args({64, 1, 1})
    ->Args({576, 1, 1})
    ->Args({64, 1, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Pixel learner with cached features: obs rows = 18 proprio + 2 cameras x 512x4x4
// frozen-backbone features; the trainable encoder head (spatial embeddings with F kernels
// per channel -> 256 bottleneck per camera, proprio -> 64) feeds critic, actor and grasp
// critic. F = 8 is HIL-SERL's default; F = 1 is 8x cheaper in the bottleneck.
nn::EncoderSpec PixelSpec(int64_t spatial_features) {
  nn::EncoderSpec e;
  e.proprio_dim = 18;
  e.cameras = {"front", "wrist"};
  e.spatial_features = spatial_features;
  return e;
}

void BM_SacUpdatePixelFeatures(benchmark::State& state) {
  const int64_t f = state.range(0);
  nn::ConfigureCpuThreads(1);
  torch::manual_seed(0);
  SacOptions o;
  o.grippers = 1;
  const nn::EncoderSpec spec = PixelSpec(f);
  const int64_t obs_dim = spec.input_dim(), action_dim = 4, b = 256;
  SacAgent agent(obs_dim, action_dim, o, torch::kCPU, spec);
  const double seconds = TimeUpdates(state, agent, obs_dim, action_dim, b);
  const int64_t z = spec.output_dim();
  const std::vector<int64_t> h = o.hidden;
  // Encoder per pass: spatial (C * HW * F) + bottleneck (C * F * 256) per camera, proprio.
  const double enc = 2.0 * b *
                     (2.0 * (512.0 * 16 * f + 512.0 * f * 256) + spec.proprio_dim * spec.proprio_latent);
  const double critic = MlpFlops(b, z + 3, h, 1, o.critic_ensemble);
  const double policy = MlpFlops(b, z, h, 6);
  const double grasp = MlpFlops(b, z, h, 3);
  const double flops = 3 * enc + 2 * enc                       // obs (fwd + bwd), next obs online + target
                       + policy + critic + 3 * critic           // target, critic loss
                       + 3 * grasp + 2 * grasp                  // grasp loss + targets
                       + 3 * policy + 3 * critic;               // actor loss
  state.SetItemsProcessed(state.iterations());
  const double gflops = flops * static_cast<double>(state.iterations()) / seconds / 1e9;
  state.counters["GFLOPs_per_s"] = gflops;
  state.counters["pct_of_peak"] = 100.0 * gflops / 300.0;
}
BENCHMARK(BM_SacUpdatePixelFeatures)
    ->ArgNames({"spatial_features"})
    ->Arg(8)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Pixel learner trained end to end (DrQ): obs rows = 18 proprio + 2 cameras x 3 x S x S
// pixels; each camera's conv head (random shift, 4 conv layers, dense 256) is trained by
// the critic. The conv passes dominate: forward + backward on the batch's observations,
// forward on its next observations through the online and the target encoders.
void BM_SacUpdatePixelEndToEnd(benchmark::State& state) {
  const int64_t size = state.range(0), channels = state.range(1);
  nn::ConfigureCpuThreads(1);
  torch::manual_seed(0);
  SacOptions o;
  o.grippers = 1;
  nn::EncoderSpec spec = PixelSpec(1);
  spec.head = "conv";
  spec.channels = 3;
  spec.height = spec.width = size;
  spec.conv_channels = channels;
  const int64_t obs_dim = spec.input_dim(), action_dim = 4, b = 256;
  SacAgent agent(obs_dim, action_dim, o, torch::kCPU, spec);
  const double seconds = TimeUpdates(state, agent, obs_dim, action_dim, b);
  const double conv = 2.0 * b * 2 * static_cast<double>(nn::ConvHead(size, channels, 256, 4)->macs_per_image());
  const int64_t z = spec.output_dim();
  const std::vector<int64_t> h = o.hidden;
  const double critic = MlpFlops(b, z + 3, h, 1, o.critic_ensemble), policy = MlpFlops(b, z, h, 6);
  const double grasp = MlpFlops(b, z, h, 3);
  const double flops = 3 * conv + 2 * conv + policy + 4 * critic + 5 * grasp + 3 * policy + 3 * critic;
  state.SetItemsProcessed(state.iterations());
  const double gflops = flops * static_cast<double>(state.iterations()) / seconds / 1e9;
  state.counters["GFLOPs_per_s"] = gflops;
  state.counters["pct_of_peak"] = 100.0 * gflops / 300.0;
}
BENCHMARK(BM_SacUpdatePixelEndToEnd)
    ->ArgNames({"size", "channels"})
    ->Args({64, 32})
    ->Args({48, 16})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

// Actor latency per step in pixel mode: encode two 128x128 frames with the frozen
// backbone, then the policy and grasp critic (what runs between two robot commands).
void BM_ActorStepPixels(benchmark::State& state) {
  nn::ConfigureCpuThreads(1);
  torch::manual_seed(0);
  nn::FrozenBackbone backbone({"front", "wrist"}, 128, "", 0);
  SacOptions o;
  o.grippers = 1;
  const nn::EncoderSpec spec = PixelSpec(8);
  SacAgent agent(spec.input_dim(), 4, o, torch::kCPU, spec);
  Observation obs;
  for (const char* cam : {"front", "wrist"}) {
    Image img(128, 128);
    for (size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<uint8_t>((i * 31) % 255);
    obs.images[cam] = img;
  }
  std::vector<double> ms;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    backbone.Encode(&obs);
    torch::Tensor x = torch::empty({1, spec.input_dim()});
    float* p = x.data_ptr<float>();
    std::fill(p, p + spec.proprio_dim, 0.1f);
    std::copy(obs.features["front"].begin(), obs.features["front"].end(), p + spec.proprio_dim);
    std::copy(obs.features["wrist"].begin(), obs.features["wrist"].end(), p + spec.proprio_dim + 8192);
    torch::Tensor a = agent.Act(x, false);
    benchmark::DoNotOptimize(a.data_ptr());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  state.counters["p50_ms"] = ms[ms.size() / 2];
  state.counters["p99_ms"] = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  // Two ResNet-10 passes (~0.57 GFLOP each) dominate.
  state.counters["GFLOPs_per_s"] = 2 * 0.57 / (ms[ms.size() / 2] / 1e3);
  state.counters["pct_of_peak"] = 100.0 * state.counters["GFLOPs_per_s"] / 300.0;
}
BENCHMARK(BM_ActorStepPixels)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// Frozen ResNet-10 forward on 128x128 images: what the actor pays per camera per step
// (batch 1) and what caching features for a batch costs. mode 0 = fp32 NCHW, 1 = fp32
// channels-last, 2 = bf16 channels-last (AMX/AVX-512 through oneDNN where the CPU has it).
// ResNet-10 at 128x128 is ~0.57 GFLOP per image (multiply-add = 2 FLOPs).
void BM_ResNet10Forward(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const int mode = static_cast<int>(state.range(1));
  nn::ConfigureCpuThreads(1);
  torch::manual_seed(0);
  nn::ResNet10 net;
  net->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor x = nn::ResNet10Impl::Preprocess(torch::randint(0, 256, {batch, 128, 128, 3}).to(torch::kUInt8));
  if (mode >= 1) {
    for (auto& p : net->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    }
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  if (mode == 2) {
    net->to(torch::kBFloat16);
    x = x.to(torch::kBFloat16);
  }
  // Count FLOPs once from the conv shapes: 2 * Cout * Cin * k * k * Hout * Wout.
  double flops = 0;
  {
    int64_t h = 64;
    flops += 2.0 * 64 * 3 * 49 * h * h;  // stem at 64x64
    h = 32;                              // after max pool
    int64_t in = 64;
    for (int s = 0; s < 4; ++s) {
      const int64_t out = 64 << s;
      if (s > 0) h /= 2;
      flops += 2.0 * out * in * 9 * h * h + 2.0 * out * out * 9 * h * h;
      if (s > 0) flops += 2.0 * out * in * h * h;
      in = out;
    }
  }
  flops *= static_cast<double>(batch);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    torch::Tensor y = net->forward(x);
    benchmark::DoNotOptimize(y.data_ptr());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double gflops = flops * static_cast<double>(state.iterations()) / seconds / 1e9;
  state.counters["images_per_s"] = static_cast<double>(batch * state.iterations()) / seconds;
  state.counters["GFLOPs_per_s"] = gflops;
  state.counters["pct_of_peak"] = 100.0 * gflops / (mode == 2 ? 900.0 : 300.0);
  state.SetLabel(mode == 0 ? "fp32 NCHW" : mode == 1 ? "fp32 channels-last" : "bf16 channels-last");
}
BENCHMARK(BM_ResNet10Forward)
    ->ArgNames({"batch", "mode"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({1, 2})
    ->Args({32, 0})
    ->Args({32, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace hilserl
