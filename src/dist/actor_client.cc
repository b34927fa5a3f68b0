// ActorClient: the actor's side of proto/hilserl.proto. A sender thread delivers batches
// in order (handshake, resend until acknowledged, reconnect with backoff); a watcher
// thread keeps a weights stream open and applies the updates it receives.
#include <cmath>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "dist/messages.h"
#include "dist/transport.h"
#include "hilserl.grpc.pb.h"

namespace hilserl::dist {

struct ActorClient::Impl {
  struct Sealed {
    uint64_t seq;
    std::string bytes;  // serialized TransitionBatch
    int64_t transitions;
  };

  ActorClientOptions opt;
  std::string session;  // this process's secret, bound to opt.actor_id by the learner
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<proto::Learner::Stub> stub;

  mutable std::mutex mu;
  std::condition_variable cv;  // outbox changed, acknowledgements, stop
  proto::TransitionBatch building;
  uint64_t last_episode = 0;
  int last_step = -2;
  std::deque<Sealed> outbox;  // sealed, not yet durable
  uint64_t next_seq = 1;
  bool handshaken = false, ever_handshaken = false, stop = false;
  int waiting_durable = 0;  // WaitDurable() callers: poll the learner and ask it to checkpoint
  std::chrono::steady_clock::time_point last_poll;
  std::string fatal;
  Stats stats;
  std::optional<WeightsSnapshot> weights;
  grpc::ClientContext* watch_ctx = nullptr;
  std::thread sender, watcher;

  int64_t Unaccepted() const {  // sealed batches the learner has not accepted
    int64_t n = 0;
    for (const auto& s : outbox) n += s.seq > stats.accepted_seq ? 1 : 0;
    return n;
  }

  int64_t Unacknowledged() const {
    int64_t n = building.transitions_size();
    for (const auto& s : outbox) n += s.transitions;
    return n;
  }

  void Seal() {  // under mu
    if (building.transitions_size() == 0) return;
    building.set_actor_id(opt.actor_id);
    building.set_seq(next_seq++);
    building.set_token(opt.token);
    building.set_session(session);
    outbox.push_back({building.seq(), building.SerializeAsString(), building.transitions_size()});
    building.Clear();
    last_step = -2;
    cv.notify_all();
  }

  void Forget(uint64_t durable) {  // under mu
    while (!outbox.empty() && outbox.front().seq <= durable) outbox.pop_front();
    cv.notify_all();
  }

  // Sleeps for the backoff (interrupted by stop); returns the next backoff.
  std::chrono::milliseconds Backoff(std::chrono::milliseconds b) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, b, [&] { return stop; });
    return std::min(opt.backoff_max, b * 2);
  }

  void Fail(const grpc::Status& s, const char* what) {  // not under mu
    std::lock_guard<std::mutex> l(mu);
    fatal = fmt::format("the learner at {} refused the {}: {}", opt.address, what, s.error_message());
    stats.last_error = fatal;
    stop = true;
    cv.notify_all();
  }

  static bool IsFatal(grpc::StatusCode c) {
    return c == grpc::StatusCode::FAILED_PRECONDITION || c == grpc::StatusCode::UNAUTHENTICATED ||
           c == grpc::StatusCode::INVALID_ARGUMENT || c == grpc::StatusCode::PERMISSION_DENIED;
  }

  bool Handshake() {
    proto::Hello hello;
    hello.set_protocol(kProtocolVersion);
    hello.set_token(opt.token);
    hello.set_actor_id(opt.actor_id);
    hello.set_actor_name(opt.name);
    hello.set_task(opt.identity.task);
    hello.set_layout(opt.identity.layout);
    hello.set_network(opt.identity.network);
    hello.set_session(session);
    {
      std::lock_guard<std::mutex> l(mu);
      hello.set_first_seq(outbox.empty() ? next_seq : outbox.front().seq);
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + opt.deadline);
    proto::Welcome welcome;
    const grpc::Status s = stub->Handshake(&ctx, hello, &welcome);
    if (!s.ok()) {
      if (IsFatal(s.error_code())) {
        Fail(s, "handshake");
      } else {
        std::lock_guard<std::mutex> l(mu);
        stats.connected = false;
        stats.last_error = s.error_message();
      }
      return false;
    }
    std::lock_guard<std::mutex> l(mu);
    if (ever_handshaken) ++stats.reconnects;
    handshaken = ever_handshaken = true;
    stats.connected = true;
    stats.accepted_seq = welcome.accepted_seq();
    stats.durable_seq = welcome.durable_seq();
    Forget(welcome.durable_seq());
    return true;
  }

  void SendLoop() {
    auto backoff = opt.backoff_min;
    while (true) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (stop) return;
      }
      if (!handshaken) {
        if (Handshake()) {
          backoff = opt.backoff_min;
        } else {
          backoff = Backoff(backoff);
        }
        continue;
      }
      std::string bytes;
      uint64_t seq = 0;
      {
        std::unique_lock<std::mutex> l(mu);
        auto next = [&]() -> const Sealed* {
          for (const auto& s : outbox) {
            if (s.seq > stats.accepted_seq) return &s;
          }
          return nullptr;
        };
        cv.wait_for(l, std::chrono::milliseconds(100), [&] { return stop || next() != nullptr; });
        if (stop) return;
        const Sealed* s = next();
        if (!s) {
          // Everything sent is accepted; what is not yet durable waits for a checkpoint.
          // Ask now and then (often, and for a checkpoint, while someone waits for it).
          const auto every = waiting_durable > 0 ? std::chrono::milliseconds(200) : std::chrono::milliseconds(2000);
          const bool poll = !outbox.empty() && std::chrono::steady_clock::now() - last_poll >= every;
          const bool want = waiting_durable > 0;
          l.unlock();
          if (poll) PollAcknowledgements(want);
          continue;
        }
        bytes = s->bytes;
        seq = s->seq;
      }
      proto::TransitionBatch batch;
      batch.ParseFromString(bytes);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + opt.deadline);
      proto::Ack ack;
      const grpc::Status s = stub->SendTransitions(&ctx, batch, &ack);
      if (s.ok()) {
        std::lock_guard<std::mutex> l(mu);
        ++stats.batches_sent;
        stats.accepted_seq = std::max<uint64_t>(stats.accepted_seq, ack.accepted_seq());
        cv.notify_all();
        stats.durable_seq = std::max<uint64_t>(stats.durable_seq, ack.durable_seq());
        Forget(stats.durable_seq);
        backoff = opt.backoff_min;
        continue;
      }
      {
        std::lock_guard<std::mutex> l(mu);
        ++stats.retries;
        stats.last_error = s.error_message();
      }
      if (IsFatal(s.error_code())) {
        Fail(s, fmt::format("batch {}", seq).c_str());
        return;
      }
      if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        // Back pressure or rate limiting: a short pause, not an escalating backoff.
        Backoff(opt.backoff_min);
        continue;
      }
      {
        // Vanished or restarted learner, or lost track of this actor: shake hands again
        // (the welcome says where to resume).
        std::lock_guard<std::mutex> l(mu);
        handshaken = false;
        stats.connected = false;
      }
      backoff = Backoff(backoff);
    }
  }

  // Where this actor's batches stand; with `want_durable` the learner is asked to write a
  // checkpoint soon. Not under mu.
  void PollAcknowledgements(bool want_durable) {
    proto::AckRequest req;
    req.set_actor_id(opt.actor_id);
    req.set_token(opt.token);
    req.set_session(session);
    req.set_want_durable(want_durable);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + opt.deadline);
    proto::Ack ack;
    const grpc::Status s = stub->Acknowledgements(&ctx, req, &ack);
    std::lock_guard<std::mutex> l(mu);
    last_poll = std::chrono::steady_clock::now();
    if (!s.ok()) {
      stats.last_error = s.error_message();
      if (s.error_code() == grpc::StatusCode::NOT_FOUND || s.error_code() == grpc::StatusCode::UNAVAILABLE) {
        handshaken = false;  // e.g. a restarted learner: the welcome says where things stand
        stats.connected = false;
      }
      return;
    }
    stats.accepted_seq = std::max<uint64_t>(stats.accepted_seq, ack.accepted_seq());
    stats.durable_seq = std::max<uint64_t>(stats.durable_seq, ack.durable_seq());
    Forget(stats.durable_seq);
  }

  void Apply(const proto::Weights& w) {
    std::lock_guard<std::mutex> l(mu);
    WeightsSnapshot next;
    if (!w.full()) {
      if (!weights || weights->version != w.base_version()) return;  // cannot apply: wait for a full update
      next = *weights;
    }
    next.version = w.version();
    for (const auto& t : w.tensors()) {
      NamedArray a = FromProto(t);
      for (float v : a.values) {
        if (!std::isfinite(v)) {
          spdlog::warn("ignoring weights v{}: tensor '{}' holds a non-finite value", w.version(), a.name);
          return;
        }
      }
      bool replaced = false;
      for (auto& old : next.arrays) {
        if (old.name == a.name) {
          old = a;
          replaced = true;
        }
      }
      if (!replaced) next.arrays.push_back(std::move(a));
    }
    weights = std::move(next);
    stats.weights_version = w.version();
  }

  void WatchLoop() {
    auto backoff = opt.backoff_min;
    while (true) {
      int64_t have = 0;
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait_for(l, std::chrono::milliseconds(100), [&] { return stop || ever_handshaken; });
        if (stop) return;
        if (!ever_handshaken) continue;
        have = weights ? weights->version : 0;
      }
      grpc::ClientContext ctx;
      {
        std::lock_guard<std::mutex> l(mu);
        if (stop) return;
        watch_ctx = &ctx;
      }
      proto::WeightsRequest req;
      req.set_actor_id(opt.actor_id);
      req.set_have_version(have);
      req.set_token(opt.token);
      req.set_session(session);
      auto reader = stub->WatchWeights(&ctx, req);
      proto::Weights w;
      bool got = false;
      try {
        while (reader->Read(&w)) {
          Apply(w);
          got = true;
        }
      } catch (const Error& e) {
        spdlog::warn("ignoring a malformed weights update: {}", e.what());
      }
      const grpc::Status s = reader->Finish();
      {
        std::lock_guard<std::mutex> l(mu);
        watch_ctx = nullptr;
        if (stop) return;
      }
      if (got) backoff = opt.backoff_min;
      if (!s.ok() && IsFatal(s.error_code())) {
        Fail(s, "weights stream");
        return;
      }
      backoff = Backoff(backoff);
    }
  }
};

ActorClient::ActorClient(ActorClientOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.opt = std::move(options);
  if (m.opt.actor_id == 0) {
    std::random_device rd;
    m.opt.actor_id = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ 1;
  }
  if (m.opt.batch_transitions < 1 || m.opt.batch_transitions > kMaxBatchTransitions) {
    throw InvalidArgument(fmt::format("actor: batch_transitions must be in [1, {}]", kMaxBatchTransitions));
  }
  if (m.opt.name.size() > kMaxActorNameBytes) {
    throw InvalidArgument(fmt::format("actor: the name has {} bytes, at most {} are allowed", m.opt.name.size(),
                                      kMaxActorNameBytes));
  }
  if (m.opt.token.size() > kMaxTokenBytes) {
    throw InvalidArgument(fmt::format("actor: the token has {} bytes, at most {} are allowed", m.opt.token.size(),
                                      kMaxTokenBytes));
  }
  {
    std::random_device rd;
    m.session.resize(32);
    for (auto& c : m.session) c = static_cast<char>(rd() & 0xff);
  }
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (!m.opt.tls_root_cert.empty()) {
    std::ifstream in(m.opt.tls_root_cert);
    if (!in) throw InvalidArgument(fmt::format("cannot read the TLS root certificate '{}'", m.opt.tls_root_cert));
    std::stringstream ss;
    ss << in.rdbuf();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ss.str();
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxWeightsBytes);
  args.SetMaxSendMessageSize(kMaxRequestBytes);
  // Reconnect quickly after a learner restart (the default backoff grows to minutes).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(m.opt.backoff_min.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(m.opt.backoff_max.count()));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(m.opt.backoff_min.count()));
  m.channel = grpc::CreateCustomChannel(m.opt.address, creds, args);
  m.stub = proto::Learner::NewStub(m.channel);
  m.sender = std::thread([this] { impl_->SendLoop(); });
  m.watcher = std::thread([this] { impl_->WatchLoop(); });
}

ActorClient::~ActorClient() {
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->stop = true;
    if (impl_->watch_ctx) impl_->watch_ctx->TryCancel();
  }
  impl_->cv.notify_all();
  impl_->sender.join();
  impl_->watcher.join();
}

uint64_t ActorClient::actor_id() const { return impl_->opt.actor_id; }

void ActorClient::Add(Transition t) {
  Impl& m = *impl_;
  // The observation is omitted when it continues the batch's previous transition.
  std::unique_lock<std::mutex> l(m.mu);
  m.cv.wait(l, [&] {
    return !m.fatal.empty() || m.stop ||
           (m.Unacknowledged() < static_cast<int64_t>(m.opt.max_unacknowledged) &&
            m.Unaccepted() < static_cast<int64_t>(m.opt.max_unaccepted_batches));
  });
  if (!m.fatal.empty()) throw Unavailable(m.fatal);
  if (m.stop) throw Unavailable("the actor client is shutting down");
  const bool with_obs = !(m.building.transitions_size() > 0 && m.last_episode == t.episode_id &&
                          m.last_step + 1 == t.step);
  ToProto(t, with_obs, m.opt.layout, m.building.add_transitions());
  m.last_episode = t.episode_id;
  m.last_step = t.step;
  if (m.building.transitions_size() >= m.opt.batch_transitions || t.terminated || t.truncated) m.Seal();
}

void ActorClient::Flush() {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->Seal();
}

std::optional<WeightsSnapshot> ActorClient::TakeWeights(int64_t have_version) {
  std::lock_guard<std::mutex> l(impl_->mu);
  if (!impl_->weights || impl_->weights->version <= have_version) return std::nullopt;
  return impl_->weights;
}

bool ActorClient::WaitAccepted(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(impl_->mu);
  impl_->Seal();
  return impl_->cv.wait_for(l, timeout, [&] {
    if (!impl_->fatal.empty()) return true;
    return impl_->building.transitions_size() == 0 &&
           (impl_->outbox.empty() || impl_->outbox.back().seq <= impl_->stats.accepted_seq);
  }) && impl_->fatal.empty();
}

bool ActorClient::WaitDurable(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(impl_->mu);
  impl_->Seal();
  ++impl_->waiting_durable;
  impl_->cv.notify_all();
  const bool done = impl_->cv.wait_for(l, timeout, [&] {
    return !impl_->fatal.empty() || (impl_->building.transitions_size() == 0 && impl_->outbox.empty());
  });
  --impl_->waiting_durable;
  return done && impl_->fatal.empty();
}

ActorClient::Stats ActorClient::stats() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  Stats s = impl_->stats;
  s.unacknowledged = impl_->Unacknowledged();
  return s;
}

}  // namespace hilserl::dist
