// Learner update speed (make bench): one SAC/RLPD update (critic + actor + temperature,
// plus the grasp critic when grippers > 0) at batch 256 with 256x256 MLPs, for a state
// observation (64-D) and for cached pixel features (2 cameras x 256 + 64 proprio = 576-D).
// Reports updates/s and the achieved GFLOP/s against this CPU's peak (PLATFORM.md:
// ~300 GFLOP/s fp32 on one core).
#include <chrono>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "agents/sac.h"

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
  TrainBatch batch{torch::randn({b, obs_dim}), torch::rand({b, action_dim}) * 2 - 1, torch::rand({b}),
                   torch::zeros({b}), torch::randn({b, obs_dim}), torch::zeros({b})};
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const UpdateInfo info = agent.Update(batch, true);
    benchmark::DoNotOptimize(info);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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

}  // namespace
}  // namespace hilserl
