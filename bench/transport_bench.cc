// Actor -> learner transport over loopback gRPC (make bench): transitions per second one
// learner accepts from 1, 2 and 4 actor clients, with pixel-agent observations (18 proprio
// values + 2 cameras x 8192 cached features, sent as bfloat16: ~32 KB per observation),
// and the latency from LearnerServer::Publish to an actor holding the new weights (every
// tensor changed, 2.6 M floats: the pixel agent's policy, grasp critic and encoder head).
// Both ends run on this machine's 2 cores, so actors, server and benchmark share them.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "dist/transport.h"

namespace hilserl::dist {
namespace {

using namespace std::chrono_literals;

ReplayLayout PixelLayout() {
  ReplayLayout l;
  l.proprio = {VectorSpace{"state", std::vector<std::string>(18, "x"), std::vector<float>(18, -1),
                           std::vector<float>(18, 1)}};
  l.features = {{"front", 8192}, {"wrist", 8192}};
  l.action_dim = 4;
  return l;
}

std::shared_ptr<Observation> Obs(float v) {
  auto o = std::make_shared<Observation>();
  o->proprio["state"] = std::vector<float>(18, v);
  o->features["front"] = std::vector<float>(8192, v);
  o->features["wrist"] = std::vector<float>(8192, -v);
  return o;
}

void BM_TransportThroughput(benchmark::State& state) {
  const int actors = static_cast<int>(state.range(0));
  const int per_actor = 1024;
  LearnerServerOptions so;
  so.layout = PixelLayout();
  so.identity = {"bench", so.layout.Describe(), "n/a"};
  LearnerServer server(so);
  int64_t total = 0;
  for (auto _ : state) {
    std::atomic<int64_t> received{0};
    std::thread learner([&] {
      while (received.load() < static_cast<int64_t>(actors) * per_actor) {
        for (const auto& b : server.Take(50ms)) received += static_cast<int64_t>(b.transitions.size());
      }
    });
    std::vector<std::thread> threads;
    for (int a = 0; a < actors; ++a) {
      threads.emplace_back([&, a] {
        ActorClientOptions co;
        co.address = "127.0.0.1:" + std::to_string(server.port());
        co.layout = so.layout;
        co.identity = so.identity;
        ActorClient client(co);
        std::shared_ptr<const Observation> obs = Obs(0.0f);
        for (int i = 0; i < per_actor; ++i) {
          Transition t;
          t.episode_id = static_cast<uint64_t>(a);
          t.step = i;
          t.obs = obs;
          t.next_obs = Obs(static_cast<float>(i));
          t.action = {0.1f, 0.2f, 0.3f, 1.0f};
          client.Add(t);
          obs = t.next_obs;
        }
        client.WaitAccepted(60s);
      });
    }
    for (auto& t : threads) t.join();
    learner.join();
    total += received.load();
  }
  state.SetItemsProcessed(total);
  state.counters["transitions_per_s"] = benchmark::Counter(static_cast<double>(total), benchmark::Counter::kIsRate);
  // Each transition carries one new observation (the next one) in bfloat16.
  const double bytes = static_cast<double>(total) * (18 * 4 + 2 * 8192 * 2);
  state.counters["MB_per_s"] = benchmark::Counter(bytes / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TransportThroughput)->ArgName("actors")->Arg(1)->Arg(2)->Arg(4)->Unit(benchmark::kMillisecond)
    ->UseRealTime()->Iterations(2);

void BM_WeightPushLatency(benchmark::State& state) {
  LearnerServerOptions so;
  so.layout = PixelLayout();
  so.identity = {"bench", so.layout.Describe(), "n/a"};
  LearnerServer server(so);
  ActorClientOptions co;
  co.address = "127.0.0.1:" + std::to_string(server.port());
  co.layout = so.layout;
  co.identity = so.identity;
  ActorClient client(co);
  client.Flush();
  WeightsSnapshot w{0, {{"encoder", {2, 4096, 256}, std::vector<float>(2 * 4096 * 256)},
                        {"policy", {512, 256}, std::vector<float>(512 * 256)},
                        {"grasp", {512, 256}, std::vector<float>(512 * 256)}}};
  int64_t version = 0;
  for (auto _ : state) {
    ++version;
    for (auto& a : w.arrays) a.values[0] = static_cast<float>(version);  // every tensor changes
    w.version = version;
    const auto t0 = std::chrono::steady_clock::now();
    server.Publish(w);
    while (!client.TakeWeights(version - 1)) std::this_thread::yield();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  state.counters["MB_per_push"] = 2.6e6 * 4 / 1e6;
}
BENCHMARK(BM_WeightPushLatency)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(20);

}  // namespace
}  // namespace hilserl::dist

BENCHMARK_MAIN();
