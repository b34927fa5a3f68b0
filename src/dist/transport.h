// Actor <-> learner transport over gRPC (service and messages in proto/hilserl.proto).
//
//   actor process                                   learner process
//   ActorClient::Add(transition) --batches, seq--> LearnerServer::Take() -> replay buffers
//   ActorClient::TakeWeights()  <--versioned weights (changed tensors only)-- Publish()
//
// Handshake: an actor introduces itself (protocol, token, task, replay layout, network
// shapes); a mismatch is refused with FAILED_PRECONDITION naming what differs, a wrong
// token with UNAUTHENTICATED. The actor treats both as fatal (Add() throws them).
//
// Delivery: each actor numbers its batches 1, 2, 3, ... and resends a batch unchanged
// until the learner acknowledges it. The acknowledgement has two levels: accepted (the
// learner holds it in memory: send the next one) and durable (it is in a checkpoint on
// disk: the actor may forget it). After a learner restart from a checkpoint, an actor's
// handshake learns the durable sequence number and it resends everything after it, so
// nothing the actor produced is lost as long as the actor lives. An actor counts a
// batch delivered only once it is durable (WaitDurable); while it waits it asks the
// learner to checkpoint (LearnerServer::TakeDurabilityRequest). Duplicates (a resent
// batch the learner already has) are acknowledged and dropped. A batch that does not
// match the replay layout (sizes) or holds a value outside the learner's ValueLimits
// (non-finite or absurd rewards, actions outside the action space, observations beyond
// the configured magnitude) is refused with INVALID_ARGUMENT naming the batch,
// transition and field, and never reaches the learner's buffers. A learner that has
// finished (StopAccepting) answers new batches UNAVAILABLE: they stay with the actor.
//
// Failures: every call has a deadline; an actor whose learner vanished retries with
// exponential backoff and reconnects by itself; the learner notices vanished actors by
// their silence (stats().actors_seen_recently) and keeps serving the others. When the
// learner's queue is full it answers RESOURCE_EXHAUSTED and actors wait (back pressure).
//
// Security: the learner listens on 127.0.0.1 by default. Binding any other address
// requires a non-empty shared token; TLS is enabled with user-supplied PEM files. Every
// RPC carries the token (constant-time comparison) and, after the handshake, the actor's
// session secret, which binds the call to the actor id that shook hands with it; a wrong
// or missing session reads exactly like an unknown actor, so no call reveals another
// actor's state. Messages and strings have the size limits stated in the proto
// (constants below).
//
// The transport knows no LibTorch: weights travel as named float arrays.
// Threading: LearnerServer and ActorClient are thread-safe; each runs its own threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/types.h"
#include "data/replay_buffer.h"
#include "data/value_limits.h"

namespace hilserl::dist {

inline constexpr uint32_t kProtocolVersion = 2;

// Limits stated in proto/hilserl.proto.
inline constexpr int kMaxRequestBytes = 64 << 20;
inline constexpr int kMaxWeightsBytes = 256 << 20;
inline constexpr size_t kMaxTokenBytes = 256;
inline constexpr size_t kMinSessionBytes = 16, kMaxSessionBytes = 64;
inline constexpr size_t kMaxActorNameBytes = 128;
inline constexpr size_t kMaxTaskBytes = 256;
inline constexpr size_t kMaxDescriptionBytes = 16 << 10;  // layout, network
inline constexpr int kMaxBatchTransitions = 4096;

// One environment step as an actor sends it (observations shared, not copied).
struct Transition {
  uint64_t episode_id = 0;
  int step = 0;
  std::shared_ptr<const Observation> obs, next_obs;
  Action action;
  float reward = 0.0f;
  bool terminated = false, truncated = false;
  float grasp_penalty = 0.0f;
  bool intervened = false;
  bool success = false;  // on the last step of an episode
};

// Network weights as plain float arrays.
struct NamedArray {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
  bool operator==(const NamedArray&) const = default;
};
struct WeightsSnapshot {
  int64_t version = 0;  // > 0, increasing
  std::vector<NamedArray> arrays;
};

// What actor and learner must agree on.
struct Identity {
  std::string task;
  std::string layout;   // ReplayLayout::Describe()
  std::string network;  // network shapes and frozen-encoder fingerprint
};

struct LearnerServerOptions {
  std::string address = "127.0.0.1:0";  // host:port; port 0 picks a free port (see port())
  std::string token;                     // required to bind beyond loopback
  std::string tls_cert, tls_key;         // PEM files: serve TLS instead of plaintext
  Identity identity;
  ReplayLayout layout;                   // every received transition is checked against it
  ValueLimits limits;                    // ... and its values against these
  size_t max_pending_batches = 256;      // beyond this, senders get RESOURCE_EXHAUSTED
  // Rate limiter: while this returns false (e.g. actors are too far ahead of the
  // learner's updates), new batches get RESOURCE_EXHAUSTED and actors wait. Null = accept.
  std::function<bool()> accepting;
  std::string name = "learner";
};

struct ReceivedBatch {
  uint64_t actor_id = 0;
  uint64_t seq = 0;
  std::vector<Transition> transitions;
};

class LearnerServer {
 public:
  // Starts serving. Throws InvalidArgument (non-loopback address without a token, TLS
  // file missing) or Unavailable (the address cannot be bound).
  explicit LearnerServer(LearnerServerOptions options);
  ~LearnerServer();
  LearnerServer(const LearnerServer&) = delete;
  LearnerServer& operator=(const LearnerServer&) = delete;

  int port() const;

  // Batches received since the last call, each actor's in sequence order; waits up to
  // `timeout` for the first one.
  std::vector<ReceivedBatch> Take(std::chrono::milliseconds timeout);

  // New weights for every actor (only tensors that changed are sent to actors that have
  // an earlier version).
  void Publish(const WeightsSnapshot& weights);

  // Per actor, the last batch returned by Take(): what a checkpoint written now contains.
  std::map<uint64_t, uint64_t> TakenSequences() const;
  // Marks these batches durable (call after the checkpoint holding them is on disk).
  void MarkDurable(const std::map<uint64_t, uint64_t>& sequences);
  // After a restart from a checkpoint: the per-actor sequences it contains.
  void RestoreSequences(const std::map<uint64_t, uint64_t>& sequences);
  // True (once) when an actor waiting for durability asked for a checkpoint since the
  // last call.
  bool TakeDurabilityRequest();
  // From now on new batches are answered UNAVAILABLE with `reason` (resends of accepted
  // ones are still acknowledged). When this returns, nothing more reaches Take()'s queue.
  void StopAccepting(const std::string& reason);
  // Waits until every actor heard from in the last 10 s has been told its durable
  // sequence (in any reply) or `timeout` passed; true if all were told.
  bool WaitDurableToldToActors(std::chrono::milliseconds timeout);

  struct Stats {
    int actors = 0;                 // actors that ever shook hands
    int actors_seen_recently = 0;   // ... and were heard from in the last 10 s
    int64_t batches = 0, transitions = 0, duplicates = 0, rejected = 0, bytes = 0;
    int64_t rate_limited = 0;       // batches turned away by the rate limiter (resent later)
    int64_t weights_sent = 0, weight_bytes = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ActorClientOptions {
  std::string address = "127.0.0.1:50051";
  std::string token;
  std::string tls_root_cert;  // PEM: connect with TLS, trusting this certificate
  Identity identity;
  ReplayLayout layout;        // what each observation holds (must match the identity)
  std::string name = "actor";
  uint64_t actor_id = 0;      // 0 = random
  int batch_transitions = 32; // a batch is sent when this full or at an episode's end
  std::chrono::milliseconds deadline{5000};
  std::chrono::milliseconds backoff_min{50}, backoff_max{2000};
  size_t max_unacknowledged = 20000;  // transitions not yet durable; Add() blocks beyond
  size_t max_unaccepted_batches = 4;  // sealed batches not yet accepted; Add() blocks beyond
                                      // (so a rate-limited learner paces its actors)
};

class ActorClient {
 public:
  // Connects in the background (Add() may be called at once).
  explicit ActorClient(ActorClientOptions options);
  ~ActorClient();
  ActorClient(const ActorClient&) = delete;
  ActorClient& operator=(const ActorClient&) = delete;

  // Queues a transition. Throws the learner's refusal (handshake mismatch, bad token,
  // malformed data) once it is known; blocks while too much is unacknowledged.
  void Add(Transition transition);
  // Sends the partly filled batch now.
  void Flush();
  // The newest weights received if newer than `have_version`.
  std::optional<WeightsSnapshot> TakeWeights(int64_t have_version);
  // Waits until every queued transition was accepted (true) or `timeout` passed.
  bool WaitAccepted(std::chrono::milliseconds timeout);
  // Waits until every queued transition is durable (in the learner's checkpoint on disk;
  // the client asks the learner to write one) (true) or `timeout` passed (false). Only
  // then has the learner really got them.
  bool WaitDurable(std::chrono::milliseconds timeout);

  struct Stats {
    bool connected = false;
    int64_t batches_sent = 0, retries = 0, reconnects = 0;
    int64_t unacknowledged = 0;  // transitions kept until durable
    uint64_t accepted_seq = 0, durable_seq = 0;
    int64_t weights_version = 0;
    std::string last_error;
  };
  Stats stats() const;
  uint64_t actor_id() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hilserl::dist
