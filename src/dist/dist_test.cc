#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <thread>
#include <tuple>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "dist/messages.h"
#include "dist/transport.h"
#include "hilserl.grpc.pb.h"

namespace hilserl::dist {
namespace {

using namespace std::chrono_literals;

ReplayLayout SmallLayout() {
  ReplayLayout l;
  l.proprio = {VectorSpace{"p", {"a", "b", "c"}, {-1, -1, -1}, {1, 1, 1}}};
  l.features = {{"cam", 4}};
  l.action_dim = 2;
  return l;
}

Identity SmallIdentity(const ReplayLayout& l) { return {"toy", l.Describe(), "mlp 2x16"}; }

std::shared_ptr<Observation> Obs(float v) {
  auto o = std::make_shared<Observation>();
  o->proprio["p"] = {v, v + 0.5f, -v};
  o->features["cam"] = {v, 2 * v, 3 * v, 4 * v};
  return o;
}

// Transitions of one episode: observation i has value episode * 10 + i.
std::vector<Transition> Episode(uint64_t id, int steps) {
  std::vector<Transition> out;
  for (int i = 0; i < steps; ++i) {
    Transition t;
    t.episode_id = id;
    t.step = i;
    t.obs = Obs(static_cast<float>(id * 10 + i));
    t.next_obs = Obs(static_cast<float>(id * 10 + i + 1));
    t.action = {0.1f * i, -0.1f * i};
    t.reward = i + 1 == steps ? 1.0f : 0.0f;
    t.terminated = i + 1 == steps;
    t.success = t.terminated;
    t.intervened = i % 2 == 1;
    out.push_back(t);
  }
  return out;
}

LearnerServerOptions ServerOptions(const std::string& address = "127.0.0.1:0") {
  LearnerServerOptions o;
  o.address = address;
  o.layout = SmallLayout();
  o.identity = SmallIdentity(o.layout);
  o.limits.actions = VectorSpace{"action", {"x", "y"}, {-1, -1}, {1, 1}};
  o.limits.max_abs_reward = 100;
  o.limits.max_abs_observation = 1e6;
  return o;
}

ActorClientOptions ClientOptions(int port) {
  ActorClientOptions o;
  o.address = "127.0.0.1:" + std::to_string(port);
  o.layout = SmallLayout();
  o.identity = SmallIdentity(o.layout);
  o.batch_transitions = 3;
  o.deadline = 2000ms;
  o.backoff_min = 20ms;
  o.backoff_max = 200ms;
  return o;
}

// Takes batches until `n` transitions arrived or 10 s passed.
std::vector<ReceivedBatch> TakeTransitions(LearnerServer& s, size_t n) {
  std::vector<ReceivedBatch> out;
  size_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (got < n && std::chrono::steady_clock::now() < deadline) {
    for (auto& b : s.Take(100ms)) {
      got += b.transitions.size();
      out.push_back(std::move(b));
    }
  }
  return out;
}

TEST(TransportTest, TransitionsArriveInOrderWithObservationsSharedAndChecked) {
  LearnerServer server(ServerOptions());
  ActorClient client(ClientOptions(server.port()));
  for (const auto& t : Episode(1, 5)) client.Add(t);
  for (const auto& t : Episode(2, 2)) client.Add(t);
  ASSERT_TRUE(client.WaitAccepted(10s)) << client.stats().last_error;
  const auto batches = TakeTransitions(server, 7);
  std::vector<Transition> all;
  uint64_t seq = 0;
  for (const auto& b : batches) {
    EXPECT_EQ(b.actor_id, client.actor_id());
    EXPECT_EQ(b.seq, ++seq);
    for (const auto& t : b.transitions) all.push_back(t);
  }
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(batches.size(), 3u);  // 3 + 2 (episode end) + 2 (episode end)
  for (size_t i = 0; i < all.size(); ++i) {
    const Transition& t = all[i];
    const float v = static_cast<float>(t.episode_id * 10 + t.step);
    EXPECT_EQ(t.obs->proprio.at("p"), (std::vector<float>{v, v + 0.5f, -v}));
    EXPECT_EQ(t.next_obs->features.at("cam")[3], 4 * (v + 1));  // small integers are exact in bfloat16
    EXPECT_FLOAT_EQ(t.action[0], 0.1f * t.step);
    EXPECT_EQ(t.intervened, t.step % 2 == 1);
    if (i > 0 && all[i - 1].episode_id == t.episode_id && all[i - 1].step + 1 == t.step) {
      EXPECT_EQ(t.obs->proprio, all[i - 1].next_obs->proprio);
      EXPECT_EQ(t.obs->features, all[i - 1].next_obs->features);
    }
  }
  EXPECT_TRUE(all[4].terminated && all[4].success);
  const auto st = server.stats();
  EXPECT_EQ(st.transitions, 7);
  EXPECT_EQ(st.actors, 1);
  // Until the learner checkpoints, the actor keeps everything; then it may forget.
  EXPECT_EQ(client.stats().unacknowledged, 7);
  server.MarkDurable(server.TakenSequences());
  for (const auto& t : Episode(3, 1)) client.Add(t);
  ASSERT_TRUE(client.WaitAccepted(10s));
  EXPECT_EQ(client.stats().durable_seq, 3u);
  EXPECT_EQ(client.stats().unacknowledged, 1);
}

TEST(TransportTest, WeightsReachEveryActorAndUpdatesCarryOnlyWhatChanged) {
  LearnerServer server(ServerOptions());
  ActorClient a(ClientOptions(server.port())), b(ClientOptions(server.port()));
  a.Flush();
  b.Flush();
  WeightsSnapshot w1{1, {{"policy.w", {2, 2}, {1, 2, 3, 4}}, {"obs_norm.mean", {3}, {0, 0, 0}}}};
  server.Publish(w1);
  auto wait_for = [](ActorClient& c, int64_t version) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto w = c.TakeWeights(version - 1)) {
        if (w->version == version) return *w;
      }
      std::this_thread::sleep_for(10ms);
    }
    return WeightsSnapshot{};
  };
  EXPECT_EQ(wait_for(a, 1).arrays, w1.arrays);
  EXPECT_EQ(wait_for(b, 1).arrays, w1.arrays);
  const int64_t bytes_full = server.stats().weight_bytes;
  WeightsSnapshot w2 = w1;
  w2.version = 2;
  w2.arrays[0].values = {5, 6, 7, 8};
  server.Publish(w2);
  EXPECT_EQ(wait_for(a, 2).arrays, w2.arrays);  // merged: the unchanged tensor is kept
  EXPECT_EQ(wait_for(b, 2).arrays, w2.arrays);
  const int64_t bytes_delta = server.stats().weight_bytes - bytes_full;
  EXPECT_LT(bytes_delta, bytes_full);  // obs_norm.mean was not re-sent
  EXPECT_FALSE(a.TakeWeights(2).has_value());
}

TEST(TransportTest, HandshakeRefusesAnotherTaskLayoutOrToken) {
  LearnerServerOptions so = ServerOptions();
  so.token = "secret";
  LearnerServer server(so);
  auto expect_refused = [](ActorClientOptions o, const std::string& words) {
    ActorClient c(o);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    std::string error;
    while (error.empty() && std::chrono::steady_clock::now() < deadline) {
      try {
        c.Add(Episode(1, 1)[0]);
        std::this_thread::sleep_for(20ms);
      } catch (const Unavailable& e) {
        error = e.what();
      }
    }
    EXPECT_NE(error.find(words), std::string::npos) << error;
  };
  ActorClientOptions o = ClientOptions(server.port());
  o.token = "secret";
  ActorClientOptions other_task = o;
  other_task.identity.task = "peg_insertion";
  expect_refused(other_task, "disagree on the task");
  ActorClientOptions other_layout = o;
  other_layout.identity.layout = "something else";
  expect_refused(other_layout, "observation/action layout");
  ActorClientOptions wrong_token = o;
  wrong_token.token = "guess";
  expect_refused(wrong_token, "token");
  ActorClient good(o);
  good.Add(Episode(1, 1)[0]);
  EXPECT_TRUE(good.WaitAccepted(10s));
}

TEST(TransportTest, ListeningBeyondLoopbackNeedsAToken) {
  EXPECT_THROW(LearnerServer(ServerOptions("0.0.0.0:0")), InvalidArgument);
  LearnerServerOptions o = ServerOptions("0.0.0.0:0");
  o.token = "t";
  LearnerServer ok(o);
  EXPECT_GT(ok.port(), 0);
  o.tls_cert = "/nonexistent/cert.pem";
  o.tls_key = "/nonexistent/key.pem";
  EXPECT_THROW(LearnerServer{o}, InvalidArgument);
}

TEST(TransportTest, RestartedLearnerGetsEverythingAfterItsCheckpointResent) {
  auto server = std::make_unique<LearnerServer>(ServerOptions());
  const int port = server->port();
  ActorClient client(ClientOptions(port));
  for (const auto& t : Episode(1, 9)) client.Add(t);  // batches 1, 2, 3
  ASSERT_TRUE(client.WaitAccepted(10s));
  ASSERT_EQ(TakeTransitions(*server, 9).size(), 3u);
  // The learner checkpoints after batch 2 only, then dies.
  const uint64_t id = client.actor_id();
  server->MarkDurable({{id, 2}});
  for (const auto& t : Episode(2, 1)) client.Add(t);  // batch 4: its ack brings durable = 2
  ASSERT_TRUE(client.WaitAccepted(10s));
  EXPECT_EQ(client.stats().durable_seq, 2u);
  server.reset();
  // While it is down the actor goes on (batches 5, 6 wait in its outbox).
  for (const auto& t : Episode(3, 2)) client.Add(t);
  for (const auto& t : Episode(4, 2)) client.Add(t);
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(client.stats().connected);
  // The restarted learner knows from its checkpoint that it has batches 1-2.
  LearnerServer restarted(ServerOptions("127.0.0.1:" + std::to_string(port)));
  restarted.RestoreSequences({{id, 2}});
  ASSERT_TRUE(client.WaitAccepted(15s)) << client.stats().last_error;
  const auto batches = TakeTransitions(restarted, 3 + 1 + 2 + 2);
  std::vector<uint64_t> seqs;
  for (const auto& b : batches) seqs.push_back(b.seq);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 4, 5, 6}));
  EXPECT_GE(client.stats().reconnects, 1);
}

TEST(TransportTest, ActorsJoinAndLeaveARunningLearner) {
  LearnerServer server(ServerOptions());
  {
    ActorClient first(ClientOptions(server.port()));
    for (const auto& t : Episode(1, 3)) first.Add(t);
    ASSERT_TRUE(first.WaitAccepted(10s));
  }  // the first actor goes away
  ActorClient second(ClientOptions(server.port())), third(ClientOptions(server.port()));
  for (const auto& t : Episode(7, 2)) second.Add(t);
  for (const auto& t : Episode(8, 2)) third.Add(t);
  ASSERT_TRUE(second.WaitAccepted(10s));
  ASSERT_TRUE(third.WaitAccepted(10s));
  EXPECT_EQ(TakeTransitions(server, 7).size(), 3u);
  EXPECT_EQ(server.stats().actors, 3);
}

TEST(TransportTest, MalformedBatchIsRefusedAndTheLearnerServesOn) {
  LearnerServer server(ServerOptions());
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server.port()), grpc::InsecureChannelCredentials());
  auto stub = proto::Learner::NewStub(channel);
  const ReplayLayout layout = SmallLayout();
  proto::Hello hello;
  hello.set_protocol(kProtocolVersion);
  hello.set_actor_id(42);
  hello.set_task("toy");
  hello.set_layout(layout.Describe());
  hello.set_network("mlp 2x16");
  hello.set_first_seq(1);
  hello.set_session(std::string(32, 's'));
  {
    grpc::ClientContext ctx;
    proto::Welcome w;
    ASSERT_TRUE(stub->Handshake(&ctx, hello, &w).ok());
  }
  auto send = [&](const proto::TransitionBatch& b) {
    grpc::ClientContext ctx;
    proto::Ack ack;
    return stub->SendTransitions(&ctx, b, &ack);
  };
  proto::TransitionBatch batch;
  batch.set_actor_id(42);
  batch.set_seq(1);
  batch.set_session(std::string(32, 's'));
  ToProto(Episode(1, 1)[0], true, layout, batch.add_transitions());
  proto::TransitionBatch bad = batch;
  bad.mutable_transitions(0)->add_action(0.5f);  // three action components
  grpc::Status s = send(bad);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("action has 3 components, expected 2"), std::string::npos) << s.error_message();
  bad = batch;
  (*bad.mutable_transitions(0)->mutable_next_obs()->mutable_features_bf16())["cam"] = "xyz";
  EXPECT_EQ(send(bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  bad = batch;
  bad.mutable_transitions(0)->set_reward(std::nanf(""));
  EXPECT_EQ(send(bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  bad = batch;
  bad.mutable_transitions(0)->clear_obs();
  EXPECT_EQ(send(bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  bad = batch;
  bad.set_seq(5);
  EXPECT_EQ(send(bad).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  bad.set_actor_id(43);
  EXPECT_EQ(send(bad).error_code(), grpc::StatusCode::NOT_FOUND);
  bad.set_actor_id(42);
  bad.set_session(std::string(32, 'x'));  // another actor's id without its session
  EXPECT_EQ(send(bad).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(server.Take(10ms).empty());  // nothing malformed reached the learner
  EXPECT_EQ(server.stats().rejected, 4);
  ASSERT_TRUE(send(batch).ok());
  ASSERT_TRUE(send(batch).ok());  // a resend is acknowledged once more and dropped
  EXPECT_EQ(server.stats().duplicates, 1);
  EXPECT_EQ(server.Take(1s).size(), 1u);
}

// A raw gRPC client, as anybody on the network could write one.
struct RawClient {
  std::unique_ptr<proto::Learner::Stub> stub;
  explicit RawClient(int port)
      : stub(proto::Learner::NewStub(
            grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()))) {}

  proto::Hello Hello(uint64_t id, const std::string& token, const std::string& session) const {
    const ReplayLayout layout = SmallLayout();
    proto::Hello h;
    h.set_protocol(kProtocolVersion);
    h.set_token(token);
    h.set_actor_id(id);
    h.set_actor_name("raw");
    h.set_task("toy");
    h.set_layout(layout.Describe());
    h.set_network("mlp 2x16");
    h.set_first_seq(1);
    h.set_session(session);
    return h;
  }
  grpc::Status Handshake(const proto::Hello& h, proto::Welcome* w = nullptr) const {
    grpc::ClientContext ctx;
    proto::Welcome ignored;
    return stub->Handshake(&ctx, h, w ? w : &ignored);
  }
  proto::TransitionBatch Batch(uint64_t id, uint64_t seq, const std::string& token, const std::string& session,
                               const std::vector<Transition>& ts) const {
    proto::TransitionBatch b;
    b.set_actor_id(id);
    b.set_seq(seq);
    b.set_token(token);
    b.set_session(session);
    for (size_t i = 0; i < ts.size(); ++i) ToProto(ts[i], i == 0, SmallLayout(), b.add_transitions());
    return b;
  }
  grpc::Status Send(const proto::TransitionBatch& b, proto::Ack* ack = nullptr) const {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    proto::Ack ignored;
    return stub->SendTransitions(&ctx, b, ack ? ack : &ignored);
  }
  grpc::Status Acks(uint64_t id, const std::string& token, const std::string& session, proto::Ack* ack = nullptr,
                    bool want_durable = false) const {
    proto::AckRequest r;
    r.set_actor_id(id);
    r.set_token(token);
    r.set_session(session);
    r.set_want_durable(want_durable);
    grpc::ClientContext ctx;
    proto::Ack ignored;
    return stub->Acknowledgements(&ctx, r, ack ? ack : &ignored);
  }
  // Opens a weights stream; returns its status and how many updates it read (within 1 s).
  std::pair<grpc::Status, int> Watch(uint64_t id, const std::string& token, const std::string& session) const {
    proto::WeightsRequest r;
    r.set_actor_id(id);
    r.set_token(token);
    r.set_session(session);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 1s);
    auto reader = stub->WatchWeights(&ctx, r);
    proto::Weights w;
    int n = 0;
    while (reader->Read(&w)) ++n;
    return {reader->Finish(), n};
  }
};

TEST(TransportSecurityTest, EveryCallNeedsTheTokenAndTheSessionOfTheActorThatShookHands) {
  LearnerServerOptions so = ServerOptions();
  so.token = "secret";
  LearnerServer server(so);
  server.Publish({1, {{"policy.w", {2}, {1, 2}}}});
  const RawClient raw(server.port());
  const std::string session(32, 'a'), other(32, 'b');
  ASSERT_TRUE(raw.Handshake(raw.Hello(7, "secret", session)).ok());
  // Weights go to nobody without the token, and to nobody without the actor's session.
  auto [s, n] = raw.Watch(7, "", session);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(n, 0);
  std::tie(s, n) = raw.Watch(7, "secret", other);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(n, 0);
  std::tie(s, n) = raw.Watch(7, "secret", session);
  EXPECT_EQ(n, 1);
  // Batches: no token, a wrong token, or someone else's session are refused, and the
  // refusal says nothing about the actor (not even its next batch number).
  const auto episode = Episode(1, 2);
  for (const auto& [token, sess] : std::vector<std::pair<std::string, std::string>>{
           {"", session}, {"secrets", session}, {"secret", other}, {"secret", ""}}) {
    for (uint64_t seq : {1, 5}) {
      const grpc::Status r = raw.Send(raw.Batch(7, seq, token, sess, episode));
      EXPECT_TRUE(r.error_code() == grpc::StatusCode::UNAUTHENTICATED || r.error_code() == grpc::StatusCode::NOT_FOUND)
          << r.error_message();
      EXPECT_EQ(r.error_message().find("batch"), std::string::npos) << r.error_message();
    }
    EXPECT_FALSE(raw.Acks(7, token, sess).ok());
  }
  // Nobody can take over the actor id by shaking hands with another session.
  EXPECT_EQ(raw.Handshake(raw.Hello(7, "secret", other)).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(raw.Handshake(raw.Hello(7, "", session)).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(server.Take(10ms).empty());
  // The real actor's batch 1 is still new to the learner (not dropped as a duplicate).
  proto::Ack ack;
  ASSERT_TRUE(raw.Send(raw.Batch(7, 1, "secret", session, episode), &ack).ok());
  EXPECT_EQ(ack.accepted_seq(), 1u);
  EXPECT_EQ(server.stats().duplicates, 0);
  const auto got = server.Take(1s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].transitions.size(), 2u);
  // Its own reconnection (same session) is welcome.
  proto::Welcome w;
  ASSERT_TRUE(raw.Handshake(raw.Hello(7, "secret", session), &w).ok());
  EXPECT_EQ(w.accepted_seq(), 1u);
}

TEST(TransportSecurityTest, OversizedStringsAndBatchesAreRefused) {
  LearnerServer server(ServerOptions());
  const RawClient raw(server.port());
  proto::Hello h = raw.Hello(9, "", std::string(32, 'a'));
  h.set_actor_name(std::string(4 << 20, 'n'));  // a 4 MB name
  grpc::Status s = raw.Handshake(h);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("actor_name has 4194304 bytes, at most 128"), std::string::npos)
      << s.error_message().substr(0, 200);
  h = raw.Hello(9, "", std::string(32, 'a'));
  h.set_token(std::string(1000, 't'));
  EXPECT_EQ(raw.Handshake(h).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  h = raw.Hello(9, "", "short");
  EXPECT_EQ(raw.Handshake(h).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  h = raw.Hello(9, "", std::string(32, 'a'));
  h.set_layout(std::string(20000, 'l'));
  EXPECT_EQ(raw.Handshake(h).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  h = raw.Hello(9, "", std::string(32, 'a'));
  h.set_actor_name("line\nbreak\x1b[31m");  // control characters are escaped in the log
  ASSERT_TRUE(raw.Handshake(h).ok());
  // More transitions per batch than the proto allows.
  std::vector<Transition> many;
  for (int i = 0; i < kMaxBatchTransitions + 1; ++i) {
    Transition t = Episode(1, 1)[0];
    t.terminated = t.success = false;
    t.step = i;
    many.push_back(t);
  }
  s = raw.Send(raw.Batch(9, 1, "", std::string(32, 'a'), many));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("at most 4096"), std::string::npos) << s.error_message();
  // A request beyond the message limit never gets in.
  proto::TransitionBatch huge = raw.Batch(9, 1, "", std::string(32, 'a'), Episode(1, 1));
  huge.mutable_transitions(0)->mutable_obs()->mutable_images()->operator[]("x").set_data(std::string(65 << 20, 'i'));
  EXPECT_EQ(raw.Send(huge).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(server.Take(10ms).empty());
}

TEST(TransportSecurityTest, AbsurdValuesAreRefusedNamingTheBatchTransitionAndField) {
  LearnerServer server(ServerOptions());
  const RawClient raw(server.port());
  const std::string session(32, 'a');
  ASSERT_TRUE(raw.Handshake(raw.Hello(11, "", session)).ok());
  auto refused = [&](std::function<void(Transition&)> poison, const std::string& words) {
    std::vector<Transition> ts = Episode(1, 3);
    poison(ts[1]);
    const grpc::Status s = raw.Send(raw.Batch(11, 1, "", session, ts));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << words;
    EXPECT_NE(s.error_message().find("batch 1 of actor b, transition 1"), std::string::npos) << s.error_message();
    EXPECT_NE(s.error_message().find(words), std::string::npos) << s.error_message();
  };
  refused([](Transition& t) { t.reward = 3e38f; }, "reward 3e+38 is beyond +-100");
  refused([](Transition& t) { t.grasp_penalty = -1e30f; }, "grasp penalty");
  refused([](Transition& t) { t.action[1] = 1e30f; }, "action component 1 ('y') is 1e+30, outside the action space");
  refused([](Transition& t) { t.action[0] = 1.5f; }, "action component 0 ('x') is 1.5");
  refused(
      [](Transition& t) {
        auto o = std::make_shared<Observation>(*t.next_obs);
        o->proprio["p"][2] = 1e30f;
        t.next_obs = o;
      },
      "next_obs: proprio 'p' value 2 is 1e+30, beyond +-1e+06");
  refused(
      [](Transition& t) {
        auto o = std::make_shared<Observation>(*t.next_obs);
        o->features["cam"][0] = -1e30f;
        t.next_obs = o;
      },
      "features 'cam' value 0");
  EXPECT_TRUE(server.Take(10ms).empty());
  EXPECT_EQ(server.stats().rejected, 6);
  ASSERT_TRUE(raw.Send(raw.Batch(11, 1, "", session, Episode(1, 3))).ok());  // in range: accepted
  EXPECT_EQ(server.Take(1s).size(), 1u);
}

TEST(TransportDurabilityTest, AnActorCountsBatchesDeliveredOnlyOnceTheCheckpointHoldsThem) {
  LearnerServer server(ServerOptions());
  ActorClient client(ClientOptions(server.port()));
  for (const auto& t : Episode(1, 5)) client.Add(t);
  ASSERT_TRUE(client.WaitAccepted(10s));
  EXPECT_EQ(TakeTransitions(server, 5).size(), 2u);
  // Accepted is not delivered: no checkpoint holds the batches yet.
  EXPECT_FALSE(client.WaitDurable(1000ms));
  EXPECT_EQ(client.stats().unacknowledged, 5);
  std::this_thread::sleep_for(100ms);  // a request still on its way
  // The waiting actor asked the learner for a checkpoint.
  EXPECT_TRUE(server.TakeDurabilityRequest());
  EXPECT_FALSE(server.TakeDurabilityRequest());  // once per request
  // A learner that checkpoints when asked (as the trainer does).
  std::atomic<bool> stop{false};
  std::thread learner([&] {
    while (!stop) {
      if (server.TakeDurabilityRequest()) server.MarkDurable(server.TakenSequences());
      std::this_thread::sleep_for(20ms);
    }
  });
  EXPECT_TRUE(client.WaitDurable(10s)) << client.stats().last_error;
  EXPECT_EQ(client.stats().unacknowledged, 0);
  EXPECT_EQ(client.stats().durable_seq, 2u);
  EXPECT_TRUE(server.WaitDurableToldToActors(1s));
  stop = true;
  learner.join();
}

TEST(TransportDurabilityTest, AFinishedLearnerLeavesNewBatchesWithTheActor) {
  LearnerServer server(ServerOptions());
  ActorClient client(ClientOptions(server.port()));
  for (const auto& t : Episode(1, 3)) client.Add(t);  // batch 1
  ASSERT_TRUE(client.WaitAccepted(10s));
  server.StopAccepting("the learner reached its step budget");
  for (const auto& t : Episode(2, 2)) client.Add(t);  // batch 2: never accepted
  EXPECT_FALSE(client.WaitAccepted(500ms));
  const auto got = TakeTransitions(server, 3);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(server.Take(100ms).empty());
  server.MarkDurable(server.TakenSequences());
  EXPECT_TRUE(server.WaitDurableToldToActors(5s));
  // Batch 1 is durable; batch 2 stays with the actor (it is not delivered).
  EXPECT_FALSE(client.WaitDurable(500ms));
  EXPECT_EQ(client.stats().durable_seq, 1u);
  EXPECT_EQ(client.stats().unacknowledged, 2);
  EXPECT_NE(client.stats().last_error.find("step budget"), std::string::npos) << client.stats().last_error;
}

TEST(TransportTest, NonFiniteWeightsAreNeverApplied) {
  LearnerServer server(ServerOptions());
  ActorClient client(ClientOptions(server.port()));
  client.Flush();
  server.Publish({1, {{"policy.w", {2}, {1, 2}}}});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!client.TakeWeights(0) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(client.TakeWeights(0).has_value());
  server.Publish({2, {{"policy.w", {2}, {1, std::nanf("")}}}});
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(client.TakeWeights(1).has_value());
  EXPECT_EQ(client.TakeWeights(0)->arrays[0].values, (std::vector<float>{1, 2}));
}

}  // namespace
}  // namespace hilserl::dist
