// LearnerServer: the gRPC service of proto/hilserl.proto on the learner's side.
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "dist/messages.h"
#include "dist/transport.h"
#include "hilserl.grpc.pb.h"

namespace hilserl::dist {
namespace {

using Clock = std::chrono::steady_clock;

bool IsLoopback(const std::string& address) {
  const std::string host = address.substr(0, address.rfind(':'));
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "::1";
}

std::string ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) throw InvalidArgument(fmt::format("cannot read the TLS {} file '{}'", what, path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Equal strings, in time that depends on the lengths only (not on where they differ).
bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

// `s` for a log line: printable ASCII kept, anything else as \xNN.
std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

grpc::Status TooLong(const char* what, size_t size, size_t limit) {
  return {grpc::StatusCode::INVALID_ARGUMENT, fmt::format("{} has {} bytes, at most {} are allowed", what, size, limit)};
}

const grpc::Status kNoSession{grpc::StatusCode::NOT_FOUND,
                              "no session for this actor: shake hands first (Handshake with its session)"};

}  // namespace

struct LearnerServer::Impl final : public proto::Learner::Service {
  struct ActorState {
    std::string name;     // printable (escaped) form
    std::string session;  // bound at the first handshake of this learner process; "" = none yet
    uint64_t accepted = 0, taken = 0, durable = 0;
    uint64_t told_durable = 0;  // the durable sequence last sent to the actor
    Clock::time_point last_seen;
  };

  LearnerServerOptions opt;
  mutable std::mutex mu;
  std::condition_variable pending_cv, weights_cv;
  std::map<uint64_t, ActorState> actors;
  std::deque<ReceivedBatch> pending;
  WeightsSnapshot current;
  std::map<std::string, int64_t> changed_at;  // version in which each tensor last changed
  bool shutting_down = false;
  bool durability_requested = false;
  std::string closed;  // why new batches are refused ("" = accepting)
  std::condition_variable told_cv;  // an actor was told its durable sequence
  Stats stats;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  // The shared token of every call (constant-time comparison).
  grpc::Status CheckToken(const std::string& token) const {
    if (token.size() > kMaxTokenBytes) return TooLong("the token", token.size(), kMaxTokenBytes);
    if (!opt.token.empty() && !ConstantTimeEqual(token, opt.token)) {
      return {grpc::StatusCode::UNAUTHENTICATED, "the learner requires a token and this one does not match"};
    }
    return grpc::Status::OK;
  }

  // The actor a call is for, if `session` is the one bound to it (under mu). Unknown
  // actors and wrong sessions get the same answer.
  ActorState* Authorize(uint64_t actor_id, const std::string& session) {
    auto it = actors.find(actor_id);
    if (it == actors.end() || it->second.session.empty() || !ConstantTimeEqual(session, it->second.session)) {
      return nullptr;
    }
    return &it->second;
  }

  void Tell(ActorState& a, proto::Ack* ack) {  // under mu
    ack->set_accepted_seq(a.accepted);
    ack->set_durable_seq(a.durable);
    a.told_durable = std::max(a.told_durable, a.durable);
    told_cv.notify_all();
  }

  grpc::Status Handshake(grpc::ServerContext*, const proto::Hello* hello, proto::Welcome* welcome) override {
    if (grpc::Status s = CheckToken(hello->token()); !s.ok()) return s;
    if (hello->actor_name().size() > kMaxActorNameBytes) {
      return TooLong("actor_name", hello->actor_name().size(), kMaxActorNameBytes);
    }
    if (hello->task().size() > kMaxTaskBytes) return TooLong("task", hello->task().size(), kMaxTaskBytes);
    if (hello->layout().size() > kMaxDescriptionBytes) {
      return TooLong("layout", hello->layout().size(), kMaxDescriptionBytes);
    }
    if (hello->network().size() > kMaxDescriptionBytes) {
      return TooLong("network", hello->network().size(), kMaxDescriptionBytes);
    }
    if (hello->protocol() != kProtocolVersion) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              fmt::format("protocol version {} (actor) vs {} (learner): run the same hilserl build on both sides",
                          hello->protocol(), kProtocolVersion)};
    }
    if (hello->session().size() < kMinSessionBytes || hello->session().size() > kMaxSessionBytes) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              fmt::format("the session has {} bytes, expected {}-{}", hello->session().size(), kMinSessionBytes,
                          kMaxSessionBytes)};
    }
    auto differ = [](const char* what, const std::string& actor, const std::string& learner) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          fmt::format("actor and learner disagree on the {}: actor '{}', learner '{}'", what, actor,
                                      learner));
    };
    if (hello->task() != opt.identity.task) return differ("task", hello->task(), opt.identity.task);
    if (hello->layout() != opt.identity.layout) {
      return differ("observation/action layout", hello->layout(), opt.identity.layout);
    }
    if (hello->network() != opt.identity.network) return differ("networks", hello->network(), opt.identity.network);
    std::lock_guard<std::mutex> l(mu);
    auto [it, fresh] = actors.try_emplace(hello->actor_id());
    ActorState& a = it->second;
    if (!a.session.empty() && !ConstantTimeEqual(hello->session(), a.session)) {
      // Another process claims an actor id that has a session: the id stays with its owner.
      return {grpc::StatusCode::PERMISSION_DENIED,
              "this actor id belongs to another actor process (a different session): give each actor its own id"};
    }
    a.session = hello->session();
    // The actor no longer holds batches before first_seq: they must have been durable.
    const uint64_t floor = hello->first_seq() > 0 ? hello->first_seq() - 1 : 0;
    if (fresh || a.accepted < floor) {
      if (!fresh) {
        spdlog::warn("actor {:x} resumes at batch {} but the learner has only {}", hello->actor_id(), floor, a.accepted);
      }
      a.accepted = a.taken = a.durable = std::max(a.accepted, floor);
    }
    a.name = Printable(hello->actor_name());
    // A reconnection of an actor heard from recently (e.g. retrying while the learner
    // refuses batches) is not news.
    const bool news = fresh || a.last_seen.time_since_epoch().count() == 0 ||
                      Clock::now() - a.last_seen > std::chrono::seconds(10);
    a.last_seen = Clock::now();
    a.told_durable = std::max(a.told_durable, a.durable);
    told_cv.notify_all();
    welcome->set_durable_seq(a.durable);
    welcome->set_accepted_seq(a.accepted);
    welcome->set_weights_version(current.version);
    welcome->set_learner_name(opt.name);
    spdlog::log(news ? spdlog::level::info : spdlog::level::debug,
                "actor '{}' ({:x}) joined: {} batches accepted, {} durable", a.name, hello->actor_id(), a.accepted,
                a.durable);
    return grpc::Status::OK;
  }

  grpc::Status SendTransitions(grpc::ServerContext*, const proto::TransitionBatch* batch, proto::Ack* ack) override {
    if (grpc::Status s = CheckToken(batch->token()); !s.ok()) return s;
    {
      std::lock_guard<std::mutex> l(mu);
      ActorState* found = Authorize(batch->actor_id(), batch->session());
      if (!found) return kNoSession;
      ActorState& a = *found;
      a.last_seen = Clock::now();
      if (batch->seq() <= a.accepted) {  // a resend of something the learner has
        ++stats.duplicates;
        Tell(a, ack);
        return grpc::Status::OK;
      }
      if (!closed.empty()) return {grpc::StatusCode::UNAVAILABLE, closed};
      if (batch->seq() != a.accepted + 1) {
        return {grpc::StatusCode::OUT_OF_RANGE,
                fmt::format("expected batch {} of this actor, got {}", a.accepted + 1, batch->seq())};
      }
      if (pending.size() >= opt.max_pending_batches) {
        return {grpc::StatusCode::RESOURCE_EXHAUSTED, "the learner is behind; retry later"};
      }
      if (opt.accepting && !opt.accepting()) {
        ++stats.rate_limited;
        return {grpc::StatusCode::RESOURCE_EXHAUSTED, "rate limited: the learner is catching up"};
      }
    }
    ReceivedBatch received;
    try {
      received.transitions = FromProto(*batch, opt.layout, opt.limits);
    } catch (const Error& e) {
      std::lock_guard<std::mutex> l(mu);
      ++stats.rejected;
      spdlog::warn("refused a batch: {}", e.what());
      return {grpc::StatusCode::INVALID_ARGUMENT, e.what()};
    }
    received.actor_id = batch->actor_id();
    received.seq = batch->seq();
    std::lock_guard<std::mutex> l(mu);
    ActorState& a = actors.at(batch->actor_id());
    if (batch->seq() != a.accepted + 1) {  // a concurrent resend got in first
      ++stats.duplicates;
    } else if (!closed.empty()) {
      return {grpc::StatusCode::UNAVAILABLE, closed};
    } else {
      a.accepted = batch->seq();
      ++stats.batches;
      stats.transitions += static_cast<int64_t>(received.transitions.size());
      stats.bytes += static_cast<int64_t>(batch->ByteSizeLong());
      pending.push_back(std::move(received));
      pending_cv.notify_all();
    }
    Tell(a, ack);
    return grpc::Status::OK;
  }

  grpc::Status Acknowledgements(grpc::ServerContext*, const proto::AckRequest* req, proto::Ack* ack) override {
    if (grpc::Status s = CheckToken(req->token()); !s.ok()) return s;
    std::lock_guard<std::mutex> l(mu);
    ActorState* a = Authorize(req->actor_id(), req->session());
    if (!a) return kNoSession;
    a->last_seen = Clock::now();
    if (req->want_durable() && a->durable < a->accepted) durability_requested = true;
    Tell(*a, ack);
    return grpc::Status::OK;
  }

  grpc::Status WatchWeights(grpc::ServerContext* ctx, const proto::WeightsRequest* req,
                            grpc::ServerWriter<proto::Weights>* writer) override {
    if (grpc::Status s = CheckToken(req->token()); !s.ok()) return s;
    {
      std::lock_guard<std::mutex> l(mu);
      if (!Authorize(req->actor_id(), req->session())) return kNoSession;
    }
    int64_t have = req->have_version();
    while (true) {
      proto::Weights msg;
      {
        std::unique_lock<std::mutex> l(mu);
        weights_cv.wait_for(l, std::chrono::milliseconds(200),
                            [&] { return shutting_down || (current.version > 0 && current.version != have); });
        if (shutting_down) return grpc::Status::OK;
        if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
        if (current.version == 0 || current.version == have) continue;
        // Only what changed since the actor's version; everything if it has none (or one
        // this learner never published, e.g. before a restart).
        const bool full = have <= 0 || have > current.version;
        msg.set_version(current.version);
        msg.set_full(full);
        msg.set_base_version(full ? 0 : have);
        for (const auto& a : current.arrays) {
          if (full || changed_at[a.name] > have) ToProto(a, msg.add_tensors());
        }
        ++stats.weights_sent;
        stats.weight_bytes += static_cast<int64_t>(msg.ByteSizeLong());
      }
      if (!writer->Write(msg)) return grpc::Status::CANCELLED;
      have = msg.version();
    }
  }
};

LearnerServer::LearnerServer(LearnerServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  const LearnerServerOptions& o = impl_->opt;
  if (!IsLoopback(o.address) && o.token.empty()) {
    throw InvalidArgument(fmt::format("the learner would listen on '{}', beyond this machine, without a token: set a "
                                      "shared token (and preferably TLS certificates) or listen on 127.0.0.1",
                                      o.address));
  }
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (!o.tls_cert.empty() || !o.tls_key.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({ReadFile(o.tls_key, "key"), ReadFile(o.tls_cert, "certificate")});
    creds = grpc::SslServerCredentials(ssl);
  } else {
    creds = grpc::InsecureServerCredentials();
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort(o.address, creds, &impl_->port);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.SetMaxSendMessageSize(kMaxWeightsBytes);
  builder.RegisterService(impl_.get());
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0) {
    throw Unavailable(fmt::format("the learner cannot listen on '{}' (address in use or invalid)", o.address));
  }
}

LearnerServer::~LearnerServer() {
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->shutting_down = true;
  }
  impl_->weights_cv.notify_all();
  impl_->pending_cv.notify_all();
  impl_->told_cv.notify_all();
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  impl_->server->Wait();
}

int LearnerServer::port() const { return impl_->port; }

std::vector<ReceivedBatch> LearnerServer::Take(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(impl_->mu);
  impl_->pending_cv.wait_for(l, timeout, [&] { return !impl_->pending.empty() || impl_->shutting_down; });
  std::vector<ReceivedBatch> out;
  while (!impl_->pending.empty()) {
    ReceivedBatch& b = impl_->pending.front();
    impl_->actors[b.actor_id].taken = b.seq;
    out.push_back(std::move(b));
    impl_->pending.pop_front();
  }
  return out;
}

void LearnerServer::Publish(const WeightsSnapshot& weights) {
  std::lock_guard<std::mutex> l(impl_->mu);
  if (weights.version <= 0) throw InvalidArgument("weights versions start at 1");
  std::map<std::string, const NamedArray*> previous;
  for (const auto& a : impl_->current.arrays) previous[a.name] = &a;
  for (const auto& a : weights.arrays) {
    auto it = previous.find(a.name);
    if (it == previous.end() || !(*it->second == a)) impl_->changed_at[a.name] = weights.version;
  }
  impl_->current = weights;
  impl_->weights_cv.notify_all();
}

std::map<uint64_t, uint64_t> LearnerServer::TakenSequences() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  std::map<uint64_t, uint64_t> out;
  for (const auto& [id, a] : impl_->actors) out[id] = a.taken;
  return out;
}

void LearnerServer::MarkDurable(const std::map<uint64_t, uint64_t>& sequences) {
  std::lock_guard<std::mutex> l(impl_->mu);
  for (const auto& [id, seq] : sequences) {
    auto it = impl_->actors.find(id);
    if (it != impl_->actors.end()) it->second.durable = std::max(it->second.durable, seq);
  }
}

void LearnerServer::RestoreSequences(const std::map<uint64_t, uint64_t>& sequences) {
  std::lock_guard<std::mutex> l(impl_->mu);
  for (const auto& [id, seq] : sequences) {
    Impl::ActorState& a = impl_->actors[id];
    a.accepted = a.taken = a.durable = seq;
    a.name = "(from checkpoint)";
  }
}

bool LearnerServer::TakeDurabilityRequest() {
  std::lock_guard<std::mutex> l(impl_->mu);
  return std::exchange(impl_->durability_requested, false);
}

void LearnerServer::StopAccepting(const std::string& reason) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->closed = reason.empty() ? "the learner takes no more transitions" : reason;
}

bool LearnerServer::WaitDurableToldToActors(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(impl_->mu);
  return impl_->told_cv.wait_for(l, timeout, [&] {
    const auto now = Clock::now();
    for (const auto& [id, a] : impl_->actors) {
      const bool recent = a.last_seen.time_since_epoch().count() != 0 && now - a.last_seen < std::chrono::seconds(10);
      if (recent && a.told_durable < a.durable) return false;
    }
    return true;
  });
}

LearnerServer::Stats LearnerServer::stats() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  Stats s = impl_->stats;
  const auto now = Clock::now();
  for (const auto& [id, a] : impl_->actors) {
    if (a.last_seen.time_since_epoch().count() == 0) continue;  // known only from a checkpoint
    ++s.actors;
    if (now - a.last_seen < std::chrono::seconds(10)) ++s.actors_seen_recently;
  }
  return s;
}

}  // namespace hilserl::dist
