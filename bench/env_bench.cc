// Simulation and rendering speed (make bench). Each benchmark reports items_per_second:
// physics steps/s, env steps/s (10 Hz control = 50 physics steps each) or frames/s, so the
// cost of rendering shows as the ratio between the state and pixel env rates. Physics
// reports its real-time factor (simulated s per wall s); replay sampling reports its
// memory traffic as a share of this machine's memcpy bandwidth (the physical limit of a
// copy-bound loop), measured in the same run.
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/config.h"
#include "core/paths.h"
#include "data/replay_buffer.h"
#include "envs/pick_cube.h"
#include "envs/registry.h"
#include "sim/arm.h"
#include "sim/controller.h"
#include "sim/model.h"
#include "sim/renderer.h"

namespace hilserl {
namespace {

// Raw MuJoCo physics of the PickCube scene (arm, gripper, cube), no controller.
void BM_PhysicsStep(benchmark::State& state) {
  auto model = sim::LoadModel(ResolvePath("assets/pick_cube.xml"));
  auto data = sim::MakeData(model.get());
  mj_resetDataKeyframe(model.get(), data.get(), sim::KeyId(model.get(), "home"));
  for (auto _ : state) {
    mj_step(model.get(), data.get());
    if (data->time > 5.0) mj_resetDataKeyframe(model.get(), data.get(), 0);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["real_time_factor"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * model->opt.timestep, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PhysicsStep)->Unit(benchmark::kMicrosecond);

// Physics plus the operational-space impedance controller (what every env step runs).
void BM_PhysicsStepWithController(benchmark::State& state) {
  auto model = sim::LoadModel(ResolvePath("assets/pick_cube.xml"));
  auto data = sim::MakeData(model.get());
  mj_resetDataKeyframe(model.get(), data.get(), sim::KeyId(model.get(), "home"));
  mj_forward(model.get(), data.get());
  sim::Arm arm(model.get());
  sim::ImpedanceController controller(model.get(), &arm, sim::ImpedanceOptions());
  Pose target = arm.TcpPose(data.get());
  target.translation.z() -= 0.1;
  for (auto _ : state) {
    mj_step1(model.get(), data.get());
    controller.Apply(model.get(), data.get(), target);
    mj_step2(model.get(), data.get());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["real_time_factor"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * model->opt.timestep, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PhysicsStepWithController)->Unit(benchmark::kMicrosecond);

// One PickCube env step driven by the scripted expert, in state or pixel mode.
void EnvStep(benchmark::State& state, const std::string& obs_mode) {
  PickCubeOptions options;
  options.arm.obs_mode = obs_mode;
  PickCube env(options);
  ConfigNode node = ConfigNode::Empty("bench");
  auto expert = MakePickCubeExpert(node);
  uint64_t seed = 0;
  env.Reset(seed);
  expert->Reset(seed);
  int steps = 0;
  for (auto _ : state) {
    StepResult r = env.Step(expert->Act(env.privileged_state(), env.action_space()));
    benchmark::DoNotOptimize(r);
    if (r.terminated || ++steps >= 100) {
      state.PauseTiming();
      ++seed;
      steps = 0;
      env.Reset(seed);
      expert->Reset(seed);
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["physics_steps_per_env_step"] = env.physics_steps_per_control();
}
void BM_EnvStepState(benchmark::State& state) { EnvStep(state, "state"); }
void BM_EnvStepPixels(benchmark::State& state) { EnvStep(state, "pixels"); }
BENCHMARK(BM_EnvStepState)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EnvStepPixels)->Unit(benchmark::kMillisecond)->UseRealTime();

// One camera render (scene update + GL render + readback) at the given square size.
void BM_RenderCamera(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  auto model = sim::LoadModel(ResolvePath("assets/pick_cube.xml"), size, size);
  auto data = sim::MakeData(model.get());
  mj_resetDataKeyframe(model.get(), data.get(), sim::KeyId(model.get(), "home"));
  mj_forward(model.get(), data.get());
  const bool fast = state.range(1) != 0;
  sim::OffscreenRenderer renderer(model.get(), size, size,
                                  fast ? sim::RenderOptions::Fast() : sim::RenderOptions());
  state.SetLabel(fast ? "fast (no shadows/reflections/MSAA)" : "full quality");
  const int cam = sim::CameraId(model.get(), "front");
  Image image;
  for (auto _ : state) {
    renderer.Render(data.get(), cam, &image);
    benchmark::DoNotOptimize(image.data.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderCamera)->Args({128, 1})->Args({128, 0})->Args({256, 0})->Unit(benchmark::kMillisecond)->UseRealTime();

// Replay memory per stored transition for pixel PickCube (two 128x128 cameras + proprio),
// against one frame per camera per transition (the floor for storing images at all), and
// the cost of sampling a 256 batch (copying 2 x 2 x 49 KB per row).
void BM_ReplayPixelsSample(benchmark::State& state) {
  PickCubeOptions options;
  options.arm.obs_mode = "pixels";
  PickCube env(options);
  const ReplayLayout layout = ReplayLayout::From(env.observation_spec(), 4);
  const int64_t capacity = 2000;
  ReplayBuffer buffer(capacity, layout);
  Observation obs = env.Reset(0);
  uint64_t episode = 0;
  int step = 0;
  for (int i = 0; i < 1500; ++i) {
    Observation next = obs;  // contents do not matter for the copy cost
    StepRecord r{episode, step, &obs, &next, {0.f, 0.f, 0.f, 0.f}, 0.f, false, step == 99, 0.f, false};
    buffer.Add(r);
    if (++step == 100) {
      step = 0;
      ++episode;
    }
  }
  Rng rng(0);
  SampleBatch batch;
  batch.Resize(layout, 256);
  for (auto _ : state) {
    buffer.SampleInto(0, 256, rng, &batch);
    benchmark::DoNotOptimize(batch.obs.data());
  }
  size_t frame_bytes = 0;
  for (const auto& img : layout.images) frame_bytes += static_cast<size_t>(img.height) * img.width * img.channels;
  state.counters["bytes_per_transition"] = static_cast<double>(buffer.bytes_per_slot());
  state.counters["frames_only_bytes"] = static_cast<double>(frame_bytes);
  state.counters["ratio_to_frames"] = static_cast<double>(buffer.bytes_per_slot()) / static_cast<double>(frame_bytes);
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(BM_ReplayPixelsSample)->Unit(benchmark::kMillisecond)->UseRealTime();

// memcpy bandwidth of this machine (one thread, 256 MB blocks): the limit for the
// copy-bound loops below. Measured once per process.
double MemcpyGBps() {
  static const double gbps = [] {
    const size_t n = 256u << 20;
    std::vector<char> a(n, 1), b(n, 2);
    std::memcpy(b.data(), a.data(), n);  // fault the pages in
    const auto t0 = std::chrono::steady_clock::now();
    const int reps = 4;
    for (int i = 0; i < reps; ++i) {
      std::memcpy(i % 2 ? a.data() : b.data(), i % 2 ? b.data() : a.data(), n);
      benchmark::DoNotOptimize(a.data());
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return 2.0 * static_cast<double>(n) * reps / s / 1e9;  // read + write
  }();
  return gbps;
}

void BM_MemcpyBandwidth(benchmark::State& state) {
  const size_t n = 64u << 20;
  std::vector<char> a(n, 1), b(n, 2);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), n);
    benchmark::DoNotOptimize(b.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(2 * n));
}
BENCHMARK(BM_MemcpyBandwidth)->Unit(benchmark::kMillisecond)->UseRealTime();

// What the pixel learner samples: 256 rows of [proprio | two cameras of 512x4x4 cached
// features], bfloat16 in the buffer, packed float rows out, for obs and next obs.
void BM_ReplayFeaturesSample(benchmark::State& state) {
  ObservationSpec spec;
  spec.proprio.push_back({"p", std::vector<std::string>(18, "v"), std::vector<float>(18, -1e6f), std::vector<float>(18, 1e6f)});
  const int fd = 512 * 16;
  const ReplayLayout layout = ReplayLayout::WithFeatures(spec, 4, {{"front", fd}, {"wrist", fd}});
  ReplayBuffer buffer(20000, layout);
  Observation obs;
  obs.proprio["p"] = std::vector<float>(18, 0.5f);
  obs.features["front"] = std::vector<float>(fd, 0.25f);
  obs.features["wrist"] = std::vector<float>(fd, 0.75f);
  for (int i = 0; i < 10000; ++i) {
    StepRecord r{static_cast<uint64_t>(i / 100), i % 100, &obs, &obs, {0.f, 0.f, 0.f, 0.f}, 0.f, false,
                 i % 100 == 99, 0.f, false};
    buffer.Add(r);
  }
  Rng rng(0);
  SampleBatch batch;
  batch.Resize(layout, 256, /*pack_features=*/true);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    buffer.SampleInto(0, 256, rng, &batch);
    benchmark::DoNotOptimize(batch.obs.data());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Per row: read 2 x 2 x fd bfloat16, write 2 x 2 x fd floats (obs and next obs).
  const double bytes = 256.0 * 2 * 2 * fd * (2 + 4);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["memcpy_GBps"] = MemcpyGBps();
  // Share of the memcpy limit: bytes moved per second / memcpy bandwidth.
  state.counters["pct_of_memcpy"] =
      100.0 * bytes * static_cast<double>(state.iterations()) / seconds / (MemcpyGBps() * 1e9);
  state.counters["bytes_per_transition"] = static_cast<double>(buffer.bytes_per_slot());
}
BENCHMARK(BM_ReplayFeaturesSample)->Unit(benchmark::kMillisecond)->UseRealTime();

// One env step of every task of the suite (state observations, scripted expert), with
// its physics steps per env step: two-arm scenes cost about twice a one-arm scene.
void BM_TaskEnvStep(benchmark::State& state, const std::string& task) {
  ConfigNode root = ConfigNode::FromFile(ProjectRoot() + "/configs/tasks/" + task + ".yaml");
  ConfigNode env_node = root.Child("env");
  ConfigNode expert_node = root.Child("expert");
  auto env = MakeBaseEnv(task, env_node);
  auto expert = MakeScriptedExpert(task, expert_node);
  uint64_t seed = 0;
  env->Reset(seed);
  expert->Reset(seed);
  int steps = 0;
  for (auto _ : state) {
    StepResult r = env->Step(expert->Act(env->privileged_state(), env->action_space()));
    benchmark::DoNotOptimize(r);
    if (r.terminated || ++steps >= 100) {
      state.PauseTiming();
      ++seed;
      steps = 0;
      env->Reset(seed);
      expert->Reset(seed);
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["real_time_factor"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * env->control_dt(), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_TaskEnvStep, peg_insertion, std::string("peg_insertion"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TaskEnvStep, usb_grasp_insert, std::string("usb_grasp_insert"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TaskEnvStep, handover, std::string("handover"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TaskEnvStep, dashboard, std::string("dashboard"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TaskEnvStep, pan_flip, std::string("pan_flip"))->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace hilserl

BENCHMARK_MAIN();
