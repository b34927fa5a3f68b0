// End-to-end tests of the `hilserl` binary as a user runs it: a training run killed with
// SIGKILL at a checkpoint continues with --resume, and a corrupt resume checkpoint is
// refused with a clear error instead of being half-loaded.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace hilserl {
namespace {

namespace fs = std::filesystem;

// Starts the hilserl binary with `args`; stdout and stderr go to `log`.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all = {HILSERL_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t StateSteps(const fs::path& run) {
  const fs::path state = run / "checkpoints" / "resume" / "state.json";
  if (!fs::exists(state)) return -1;
  try {
    return nlohmann::json::parse(Read(state)).at("env_steps").get<int64_t>();
  } catch (...) {
    return -1;  // being replaced right now
  }
}

std::vector<std::string> TrainArgs(const fs::path& run) {
  return {"train", "--task", "pendulum", "--no-progress", "--run-dir", run.string(),
          "--set", "train.checkpoint_every=200", "--set", "train.training_starts=100",
          "--set", "train.batch_size=32", "--set", "agent.hidden=[32, 32]", "--set", "train.eval_episodes=0"};
}

TEST(CliResumeTest, RunKilledAtAnyMomentContinuesFromItsLastCheckpoint) {
  const fs::path run = fs::temp_directory_path() / "hilserl_cli_resume";
  fs::remove_all(run);
  std::vector<std::string> args = TrainArgs(run);
  args.insert(args.end(), {"--steps", "5000"});
  const pid_t pid = Spawn(args, (fs::temp_directory_path() / "hilserl_cli_resume_1.log").string());
  ASSERT_GT(pid, 0);
  // Kill the run (no chance to clean up) once it has written its second checkpoint.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (StateSteps(run) < 400 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  EXPECT_EQ(Wait(pid), 128 + SIGKILL);
  const int64_t saved = StateSteps(run);
  ASSERT_GE(saved, 400) << Read(fs::temp_directory_path() / "hilserl_cli_resume_1.log");

  // Continue to 1000 steps in total.
  const std::string log2 = (fs::temp_directory_path() / "hilserl_cli_resume_2.log").string();
  const pid_t pid2 = Spawn({"train", "--resume", "--run-dir", run.string(), "--steps", "1000", "--no-progress"}, log2);
  ASSERT_EQ(Wait(pid2), 0) << Read(log2);
  EXPECT_NE(Read(log2).find("resuming from"), std::string::npos);
  const auto meta = nlohmann::json::parse(Read(run / "checkpoints" / "final" / "meta.json"));
  EXPECT_EQ(meta.at("env_steps").get<int64_t>(), 1000);
  EXPECT_EQ(StateSteps(run), 1000);
  // episodes.csv continues: episode numbers 1, 2, 3, ... once each, steps increasing.
  std::istringstream csv(Read(run / "episodes.csv"));
  std::string line;
  std::getline(csv, line);
  int expected = 1;
  int64_t last_step = 0;
  while (std::getline(csv, line)) {
    int episode = 0;
    long long step = 0;
    ASSERT_EQ(sscanf(line.c_str(), "%d,%lld", &episode, &step), 2) << line;
    EXPECT_EQ(episode, expected++);
    EXPECT_GT(step, last_step);
    last_step = step;
  }
  // Pendulum episodes are 200 steps; the episode cut by the kill is not counted.
  EXPECT_GE(expected - 1, 4);
  // Nothing beyond the target: a finished run asks for more steps instead of training on.
  const std::string log3 = (fs::temp_directory_path() / "hilserl_cli_resume_3.log").string();
  EXPECT_NE(Wait(Spawn({"train", "--resume", "--run-dir", run.string(), "--no-progress", "--steps", "1000"}, log3)), 0);
  EXPECT_NE(Read(log3).find("already has 1000 env steps"), std::string::npos) << Read(log3);
}

TEST(CliResumeTest, CorruptReplayFileInTheCheckpointIsRefused) {
  const fs::path run = fs::temp_directory_path() / "hilserl_cli_resume_corrupt";
  fs::remove_all(run);
  std::vector<std::string> args = TrainArgs(run);
  args.insert(args.end(), {"--steps", "300"});
  const std::string log1 = (fs::temp_directory_path() / "hilserl_cli_corrupt_1.log").string();
  ASSERT_EQ(Wait(Spawn(args, log1)), 0) << Read(log1);
  const fs::path replay = run / "checkpoints" / "resume" / "replay_rl.bin";
  ASSERT_TRUE(fs::exists(replay));
  {
    std::fstream f(replay, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(replay) / 2));
    f.put('\x5a');
    f.put('\xa5');
  }
  const std::string log2 = (fs::temp_directory_path() / "hilserl_cli_corrupt_2.log").string();
  EXPECT_NE(Wait(Spawn({"train", "--resume", "--run-dir", run.string(), "--steps", "600", "--no-progress"}, log2)), 0);
  const std::string out = Read(log2);
  EXPECT_NE(out.find("replay_rl.bin"), std::string::npos) << out;
  EXPECT_NE(out.find("corrupt"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(replay));  // the checkpoint is left as it was
}

TEST(CliResumeTest, RunWithoutCheckpointNamesWhatIsMissing) {
  const fs::path run = fs::temp_directory_path() / "hilserl_cli_resume_none";
  fs::remove_all(run);
  fs::create_directories(run);
  const std::string log = (fs::temp_directory_path() / "hilserl_cli_none.log").string();
  EXPECT_NE(Wait(Spawn({"train", "--resume", "--run-dir", run.string(), "--no-progress"}, log)), 0);
  EXPECT_NE(Read(log).find("has no resume checkpoint"), std::string::npos) << Read(log);
}

// Learner and actors as separate processes: two actors feed one learner over gRPC; the
// learner is killed mid-run and resumed on the same port; the actors reconnect and resend
// what the learner's checkpoint lacked, so it ends with exactly what they produced.
TEST(CliDistributedTest, ActorsSurviveALearnerKilledAndResumed) {
  const fs::path run = fs::temp_directory_path() / "hilserl_cli_distributed";
  fs::remove_all(run);
  const std::vector<std::string> common = {"--task", "pendulum", "--no-progress", "--set", "agent.hidden=[32, 32]"};
  std::vector<std::string> learner_args = {"learner", "--run-dir", run.string(), "--steps", "3000", "--set",
                                           "train.checkpoint_every=400", "--set", "train.batch_size=32", "--set",
                                           "train.training_starts=100", "--set", "train.eval_episodes=0",
                                           "--listen", "127.0.0.1:0"};
  learner_args.insert(learner_args.end(), common.begin(), common.end());
  const fs::path log1 = fs::temp_directory_path() / "hilserl_dist_learner_1.log";
  const pid_t learner = Spawn(learner_args, log1.string());
  ASSERT_GT(learner, 0);
  // The learner prints the port it picked.
  int port = 0;
  for (int i = 0; i < 600 && port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string text = Read(log1);
    const size_t at = text.find("(port ");
    if (at != std::string::npos) port = std::atoi(text.c_str() + at + 6);
  }
  ASSERT_GT(port, 0) << Read(log1);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  std::vector<pid_t> actors;
  for (int a = 0; a < 2; ++a) {
    std::vector<std::string> args = {"actor", "--learner", address, "--steps", "1500", "--seed",
                                     std::to_string(1000 * a), "--name", "a" + std::to_string(a)};
    args.insert(args.end(), common.begin(), common.end());
    actors.push_back(Spawn(args, (fs::temp_directory_path() / ("hilserl_dist_actor_" + std::to_string(a) + ".log"))
                                     .string()));
  }
  // Kill the learner after its second checkpoint, then resume it on the same port.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (StateSteps(run) < 800 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(learner, SIGKILL);
  Wait(learner);
  const int64_t saved = StateSteps(run);
  ASSERT_GE(saved, 800) << Read(log1);
  ASSERT_LT(saved, 3000);
  const fs::path log2 = fs::temp_directory_path() / "hilserl_dist_learner_2.log";
  std::vector<std::string> resume_args = {"learner", "--resume", "--run-dir", run.string(), "--steps", "3000",
                                          "--listen", address, "--no-progress"};
  const pid_t resumed = Spawn(resume_args, log2.string());
  ASSERT_EQ(Wait(resumed), 0) << Read(log2);
  for (int a = 0; a < 2; ++a) {
    // Read the log once the actor has exited: it prints its summary after the learner's
    // final checkpoint made everything durable, which may be after the learner exited.
    const int status = Wait(actors[a]);
    const std::string log = Read(fs::temp_directory_path() / ("hilserl_dist_actor_" + std::to_string(a) + ".log"));
    EXPECT_EQ(status, 0) << log;
    EXPECT_NE(log.find("1500 env steps"), std::string::npos) << log;
    EXPECT_NE(log.find("everything delivered"), std::string::npos) << log;
  }
  // Nothing lost, nothing twice: the learner holds exactly the 2 x 1500 steps.
  const auto meta = nlohmann::json::parse(Read(run / "checkpoints" / "final" / "meta.json"));
  EXPECT_EQ(meta.at("env_steps").get<int64_t>(), 3000) << Read(log2);
  EXPECT_NE(Read(log2).find("2 actors"), std::string::npos) << Read(log2);
}

// The port a learner printed in its log (0 if not within 30 s).
int LearnerPort(const fs::path& log) {
  for (int i = 0; i < 600; ++i) {
    const std::string text = Read(log);
    const size_t at = text.find("(port ");
    if (at != std::string::npos) return std::atoi(text.c_str() + at + 6);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

int64_t CsvRows(const fs::path& p) {
  std::istringstream in(Read(p));
  std::string line;
  int64_t n = -1;
  while (std::getline(in, line)) ++n;
  return n;
}

// Ctrl-C (or SIGTERM) no longer loses what was trained since the last checkpoint: the
// run writes its final checkpoint (both buffers included) and exits 130 (143).
TEST(CliInterruptTest, SigintAndSigtermWriteAFinalCheckpointWithEverything) {
  const fs::path run = fs::temp_directory_path() / "hilserl_cli_interrupt";
  fs::remove_all(run);
  const std::vector<std::string> args = {"train", "--task", "pendulum", "--no-progress", "--run-dir", run.string(),
                                         "--set", "train.training_starts=100", "--set", "train.batch_size=32",
                                         "--set", "agent.hidden=[32, 32]", "--set", "train.eval_episodes=0",
                                         "--steps", "1000000"};  // default checkpoint_every: none due
  const fs::path log1 = fs::temp_directory_path() / "hilserl_cli_interrupt_1.log";
  const pid_t pid = Spawn(args, log1.string());
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (CsvRows(run / "episodes.csv") < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGINT);
  ASSERT_EQ(Wait(pid), 130) << Read(log1);
  const std::string out = Read(log1);
  EXPECT_NE(out.find("interrupted after"), std::string::npos) << out;
  EXPECT_NE(out.find("--resume"), std::string::npos) << out;
  const int64_t saved = StateSteps(run);
  EXPECT_GE(saved, 400) << out;  // two 200-step episodes at least
  EXPECT_TRUE(fs::exists(run / "checkpoints" / "resume" / "replay_rl.bin"));
  EXPECT_TRUE(fs::exists(run / "checkpoints" / "final" / "weights.safetensors"));
  const auto meta = nlohmann::json::parse(Read(run / "checkpoints" / "final" / "meta.json"));
  EXPECT_EQ(meta.at("env_steps").get<int64_t>(), saved);

  // The run continues from there; SIGTERM saves the same way.
  const fs::path log2 = fs::temp_directory_path() / "hilserl_cli_interrupt_2.log";
  const pid_t pid2 = Spawn({"train", "--resume", "--run-dir", run.string(), "--no-progress"}, log2.string());
  ASSERT_GT(pid2, 0);
  const int64_t rows = CsvRows(run / "episodes.csv");
  const auto deadline2 = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (CsvRows(run / "episodes.csv") < rows + 1 && std::chrono::steady_clock::now() < deadline2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid2, SIGTERM);
  ASSERT_EQ(Wait(pid2), 143) << Read(log2);
  EXPECT_NE(Read(log2).find("resuming from"), std::string::npos) << Read(log2);
  EXPECT_GE(StateSteps(run), saved + 200) << Read(log2);
}

// An actor that says "everything delivered" has its steps in the learner's checkpoint:
// a learner killed right after the actor exits has lost nothing (no periodic checkpoint
// was due; the learner wrote one because the actor asked).
TEST(CliDistributedTest, ActorsReportDeliveredOnlyForStepsInTheLearnersCheckpoint) {
  const fs::path run = fs::temp_directory_path() / "hilserl_cli_durable";
  fs::remove_all(run);
  const std::vector<std::string> common = {"--task", "pendulum", "--no-progress", "--set", "agent.hidden=[32, 32]"};
  std::vector<std::string> learner_args = {"learner", "--run-dir", run.string(), "--steps", "100000", "--set",
                                           "train.batch_size=32", "--set", "train.training_starts=100", "--set",
                                           "train.eval_episodes=0", "--listen", "127.0.0.1:0"};
  learner_args.insert(learner_args.end(), common.begin(), common.end());
  const fs::path log1 = fs::temp_directory_path() / "hilserl_durable_learner.log";
  const pid_t learner = Spawn(learner_args, log1.string());
  ASSERT_GT(learner, 0);
  const int port = LearnerPort(log1);
  ASSERT_GT(port, 0) << Read(log1);
  // An oversized name is refused before anything is sent.
  std::vector<std::string> long_name = {"actor", "--learner", "127.0.0.1:" + std::to_string(port), "--steps", "10",
                                        "--name", std::string(100000, 'n')};
  long_name.insert(long_name.end(), common.begin(), common.end());
  const fs::path nlog = fs::temp_directory_path() / "hilserl_durable_long_name.log";
  EXPECT_NE(Wait(Spawn(long_name, nlog.string())), 0);
  EXPECT_NE(Read(nlog).find("the name has 100000 bytes, at most 128"), std::string::npos) << Read(nlog).substr(0, 300);
  // A name with control characters reaches the learner's log escaped.
  std::vector<std::string> actor_args = {"actor", "--learner", "127.0.0.1:" + std::to_string(port), "--steps", "600",
                                         "--name", "dur\nable"};
  actor_args.insert(actor_args.end(), common.begin(), common.end());
  const fs::path alog = fs::temp_directory_path() / "hilserl_durable_actor.log";
  const pid_t actor = Spawn(actor_args, alog.string());
  ASSERT_EQ(Wait(actor), 0) << Read(alog);
  kill(learner, SIGKILL);  // at once: no chance to save anything more
  Wait(learner);
  EXPECT_NE(Read(alog).find("everything delivered"), std::string::npos) << Read(alog);
  EXPECT_EQ(StateSteps(run), 600) << Read(log1);
  EXPECT_NE(Read(log1).find("actor 'dur\\x0aable'"), std::string::npos) << Read(log1);
  EXPECT_EQ(Read(log1).find(std::string(100, 'n')), std::string::npos);
}

// A learner that reaches its step budget keeps everything it accepted (in its final
// checkpoint); an actor that produced more reports what was not delivered and fails.
TEST(CliDistributedTest, ALearnerAtItsBudgetLosesNothingItAccepted) {
  const fs::path run = fs::temp_directory_path() / "hilserl_cli_budget";
  fs::remove_all(run);
  const std::vector<std::string> common = {"--task", "pendulum", "--no-progress", "--set", "agent.hidden=[32, 32]"};
  std::vector<std::string> learner_args = {"learner", "--run-dir", run.string(), "--steps", "400", "--set",
                                           "train.batch_size=32", "--set", "train.training_starts=100", "--set",
                                           "train.eval_episodes=0", "--listen", "127.0.0.1:0"};
  learner_args.insert(learner_args.end(), common.begin(), common.end());
  const fs::path log1 = fs::temp_directory_path() / "hilserl_budget_learner.log";
  const pid_t learner = Spawn(learner_args, log1.string());
  ASSERT_GT(learner, 0);
  const int port = LearnerPort(log1);
  ASSERT_GT(port, 0) << Read(log1);
  std::vector<std::string> actor_args = {"actor", "--learner", "127.0.0.1:" + std::to_string(port), "--steps", "450",
                                         "--durable-wait", "6"};
  actor_args.insert(actor_args.end(), common.begin(), common.end());
  const fs::path alog = fs::temp_directory_path() / "hilserl_budget_actor.log";
  const pid_t actor = Spawn(actor_args, alog.string());
  ASSERT_EQ(Wait(learner), 0) << Read(log1);
  const int actor_rc = Wait(actor);
  const std::string out = Read(alog);
  const int64_t saved = StateSteps(run);
  ASSERT_GE(saved, 400) << Read(log1);
  if (saved == 450) {
    EXPECT_EQ(actor_rc, 0) << out;
  } else {
    EXPECT_NE(actor_rc, 0) << out;
    EXPECT_NE(out.find(std::to_string(450 - saved) + " transitions NOT delivered"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace hilserl
