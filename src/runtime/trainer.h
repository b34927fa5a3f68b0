// Single-process HIL-SERL training: an actor thread and a learner thread in one
// process (the default; `hilserl learner` + `hilserl actor` run the same loops apart).
//
//   actor thread:   env + its own copy of the policy -> step records -> bounded queue
//   learner thread: queue -> RL buffer (every step) [+ demo buffer: demos from HDF5]
//                   -> batches (half demo, half RL when demos exist) -> SAC/RLPD updates
//                   -> publishes policy weights every weight_sync_every learner steps
//   main thread:    progress bar, metrics CSV, checkpoints
//
// With train.interventions, a ScriptedOperator (teleop/) watches the actor and takes over
// for short corrections (or, with a teleop device, a person does: HumanOperator); intervened steps go to the RL buffer and the demo buffer, policy
// steps to the RL buffer only. The intervention rate (intervened / total steps per
// episode, running mean over 20 episodes) is logged and shown. Metrics go to CSV
// (episodes.csv, learner.csv) and TensorBoard event files in the run directory.
// A rate limiter keeps learner steps per env step near `learner_steps_per_env_step` once
// training has started, so the result does not depend on which thread is faster.
// Errors in either thread stop the run and are rethrown by Train().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "agents/sac.h"
#include "data/replay_buffer.h"
#include "nn/backbone.h"
#include "core/config.h"
#include "runtime/rollout.h"
#include "wrappers/make_env.h"
#include "wrappers/reward_classifier.h"

namespace hilserl {

struct TrainOptions {
  // What learns (the paper, Table 2):
  //   hil_serl   SAC/RLPD on half demo, half RL batches (the method);
  //   bc         behaviour cloning on the demos only: `bc_steps` supervised updates, no
  //              env interaction, then the final checkpoint and evaluation;
  //   hg_dagger  BC pretraining (`bc_steps`), then the policy acts (deterministically)
  //              with the operator correcting it, and is refit by supervised learning on
  //              the demos plus every correction (the demo buffer) as the data comes in.
  std::string method = "hil_serl";
  int bc_steps = 2000;                // supervised updates before acting (bc, hg_dagger)
  int64_t env_steps = 20000;          // total environment steps
  int64_t training_starts = 100;      // RL transitions before the first update
  int batch_size = 256;
  int critic_actor_ratio = 2;         // updates per learner step; the last also trains the actor
  double learner_steps_per_env_step = 1.0;
  int64_t replay_capacity = 200000;
  int64_t demo_capacity = 100000;
  int weight_sync_every = 50;         // learner steps between weight pushes to the actor
  double demo_fraction = 0.5;         // share of each batch from the demo buffer
  int64_t checkpoint_every = 5000;    // env steps (0 = only at the end)
  int eval_episodes = 20;             // deterministic evaluation at the end (0 = none)
  int torch_threads = 1;              // intra-op threads of the learner
  bool interventions = false;         // scripted operator corrects the policy (section 'operator')
  // Normalise proprio observations by their mean and std over the demo buffer (or, without
  // demos, over the first training_starts steps); frozen for the run, saved in checkpoints.
  bool normalize_observations = true;
  // What the learner accepts at its doors (remote actors' transitions, demo files): finite
  // rewards and grasp penalties of at most this magnitude, actions within the env's action
  // space, proprio values of at most this magnitude. Anything else is refused, naming
  // where it came from.
  double max_abs_reward = 1e4;
  double max_abs_observation = 1e6;
  // A non-finite loss or gradient skips the update (the weights stay as they were); this
  // many skipped updates in a row stop the run with an error, after the final checkpoint
  // (which then holds the last good weights).
  int max_nonfinite_updates = 10;

  void Validate() const;
  void Load(ConfigNode& node);
};

// Every 20 training episodes: the running success and intervention rates (last 20).
struct HistoryPoint {
  int episode = 0;
  int64_t env_step = 0;
  double success_rate = 0.0;
  double intervention_rate = 0.0;
};

struct TrainResult {
  int64_t env_steps = 0;
  int64_t intervened_steps = 0;
  double recent_intervention_rate = 0.0;  // mean over the last 20 episodes
  int64_t learner_steps = 0;
  int episodes = 0;
  double recent_success = 0.0;   // over the last 20 training episodes
  double wall_time_s = 0.0;
  double updates_per_s = 0.0;
  double env_steps_per_s = 0.0;
  double learner_wait_s = 0.0;   // time the rate limiter held the learner waiting for data
  std::string checkpoint;        // path of the final checkpoint
  bool interrupted = false;      // stopped by TrainRequest::interrupt (no evaluation then)
  int64_t skipped_updates = 0;   // updates skipped for a non-finite loss or gradient
  RolloutSummary eval;           // final evaluation (if eval_episodes > 0)
  std::vector<HistoryPoint> history;
  // With a learned reward (section reward_classifier): its verdicts on every training step
  // against the simulator's ground truth.
  bool classifier_reward = false;
  ClassifierConfusion classifier_confusion;
};

struct TrainRequest {
  TaskConfig config;             // task, env, wrappers, agent and train sections
  std::string demos;             // HDF5 episodes for the demo buffer ("" = none)
  std::string run_dir = "runs/run";
  uint64_t seed = 0;
  bool progress = true;
  // A person supervises with this teleop device ("spacemouse", "gamepad", "keyboard"):
  // the actor then runs at the env's control rate so they can react. "" = the config's
  // train.interventions decides (scripted operator or none).
  std::string teleop_device;
  // Continue the run in run_dir from its resume checkpoint (ResumeCheckpointDir): weights,
  // optimizers, both replay buffers, step and episode counters. `config` should be the
  // checkpoint's (ResumeConfig) with train.env_steps the new total; `demos` is ignored
  // (the demo buffer, with every correction so far, is in the checkpoint).
  bool resume = false;
  // Distributed learner (`hilserl learner`): serve remote actors over gRPC at this
  // host:port instead of running an actor thread ("" = the embedded actor). Binding
  // beyond loopback needs `token`; tls_cert/tls_key (PEM) turn on TLS.
  std::string listen = "";
  std::string token = "", tls_cert = "", tls_key = "";
  // Called with the port once the learner listens (e.g. to print it); may be null.
  std::function<void(int)> on_listening = nullptr;
  // Set (to the signal number, say) to stop the run early: the learner finishes the update
  // in progress, writes its final checkpoint and Train() returns with `interrupted`. Polled
  // every 200 ms; may be null.
  const std::atomic<int>* interrupt = nullptr;
};

// Checkpoints: run_dir/checkpoints/step_<N> every train.checkpoint_every env steps and
// run_dir/checkpoints/final hold what eval needs (weights, optimizers, config, meta.json);
// run_dir/checkpoints/resume is replaced atomically at the same moments and also holds both
// replay buffers and the run's counters (state.json), so a killed run continues with
// `--resume` from its last checkpoint. Only transitions the learner had inserted by then
// are in it; the actor's queue and its unfinished episode are not.
// Whenever the run stops for a reason it controls (step budget, `interrupt`, an error in
// the actor, receiver or learner thread) it first writes `final` and `resume` with
// everything inserted so far; an error is rethrown after that. With remote actors, a
// batch is acknowledged as durable only once a resume checkpoint on disk holds it (actors
// waiting for durability get an extra resume checkpoint on request), and a learner that
// reaches its step budget takes in what it has already accepted, refuses further batches
// (they stay with their actors) and tells its actors what is durable before it returns.
TrainResult Train(TrainRequest request);

// The resume checkpoint of a run directory (checkpoints/resume, or checkpoints/resume.old
// if the process died while swapping them). Throws NotFound naming what is missing.
std::string ResumeCheckpointDir(const std::string& run_dir);
// The task config saved in a run's resume checkpoint, with `overrides` applied.
TaskConfig ResumeConfig(const std::string& run_dir, const std::vector<std::string>& overrides = {});

struct AgentSetup;

// What actor and learner must agree on besides task and layout: network shapes and a
// fingerprint of the frozen backbone's weights (the handshake compares it).
std::string NetworkSignature(const AgentSetup& setup, const nn::FrozenBackbone* backbone);

// A remote actor (`hilserl actor`): runs the env and the policy, streams transitions to
// the learner at `learner` and loads the weights it publishes. Ends after `env_steps`
// steps (then waits up to `durable_wait_s` for the learner's checkpoint to hold
// everything it sent) or when the learner refuses it (mismatch, token).
struct ActorRequest {
  TaskConfig config;
  std::string learner = "127.0.0.1:50051";
  std::string token, tls_root_cert;
  std::string name = "actor";
  int64_t env_steps = 0;          // 0 = the config's train.env_steps
  uint64_t seed = 0;
  bool progress = true;
  std::string teleop_device;      // as TrainRequest
  double durable_wait_s = 60;
};
struct ActorResult {
  int64_t env_steps = 0;
  int episodes = 0;
  double success_rate = 0.0;      // over all episodes
  int64_t weights_version = 0;    // last loaded
  int64_t reconnects = 0, retries = 0;
  bool delivered = false;         // everything in the learner's checkpoint on disk at the end
  int64_t undelivered = 0;        // transitions that were not (still unacknowledged)
};
ActorResult RunActor(ActorRequest request);

// Wraps `env` in a RewardClassifierWrapper when the config's reward_classifier.model names
// a classifier directory (`hilserl train-classifier`); returns `env` unchanged otherwise.
// Section keys: model, threshold (default 0.75), and an optional state condition
// condition_key / condition_index / condition_min / condition_max on a proprio vector.
// `wrapper` (optional) receives the wrapper, for its confusion counts.
std::unique_ptr<Env> WithRewardClassifier(const TaskConfig& config, std::unique_ptr<Env> env,
                                          RewardClassifierWrapper** wrapper = nullptr);

// Builds the agent a config describes for an env. With cameras in the observation, the
// agent reads cached frozen-backbone features (config section 'encoder'): obs rows are
// [proprio | features of each camera] and `encoder` describes the trainable head. With
// encoder.type conv the "backbone" is the pixel stem and the head a DrQ conv net.
struct AgentSetup {
  SacOptions options;
  nn::EncoderSpec encoder;       // no cameras = state observations
  std::string backbone_weights;  // safetensors of the frozen ResNet-10 ("" = random init)
  uint64_t backbone_seed = 0;
  int image_size = 0;            // camera frames (square)
  ReplayLayout layout;           // what the replay buffers store
  int64_t obs_dim = 0;
  int64_t action_dim = 0;
};
AgentSetup DescribeAgent(const TaskConfig& config, const Env& env);
std::unique_ptr<SacAgent> MakeAgent(const AgentSetup& setup);
// The frozen backbone the setup needs (nullptr for state observations).
std::unique_ptr<nn::FrozenBackbone> MakeBackbone(const AgentSetup& setup, const std::string& weights_override = "");

// The agent's deterministic policy as a PolicyFn for `env` (observations encoded by the
// backbone when there is one, then flattened).
PolicyFn AgentPolicy(const Env& env, SacAgent& agent, nn::FrozenBackbone* backbone = nullptr);
// The agent's input row [1, obs_dim] for an observation of `env` (what AgentPolicy feeds
// it): for analysis tools that query the critic or the policy's distribution.
std::function<torch::Tensor(const Observation&)> AgentInputFn(const Env& env, SacAgent& agent,
                                                             nn::FrozenBackbone* backbone = nullptr);

// Deterministic evaluation of a trained agent on `env`.
RolloutSummary Evaluate(Env& env, SacAgent& agent, const RolloutOptions& options,
                        nn::FrozenBackbone* backbone = nullptr);

// Loads a checkpoint directory (weights.safetensors + config.yaml) into a fresh env and
// agent. Throws NotFound / DataLoss naming the file.
struct LoadedPolicy {
  TaskConfig config;
  std::unique_ptr<Env> env;
  std::unique_ptr<SacAgent> agent;
  std::unique_ptr<nn::FrozenBackbone> backbone;  // pixel agents only
};
// Throws DataLoss naming the file if a file of checkpoint `dir` is missing, truncated or
// changed since it was written (checksums.json: size and CRC-32C of every file but the
// replay buffers, which carry their own checksum). Checkpoints without it pass.
void VerifyCheckpoint(const std::string& dir);

LoadedPolicy LoadCheckpoint(const std::string& checkpoint_dir, const std::vector<std::string>& overrides = {});

}  // namespace hilserl
