#include <chrono>
#include <cmath>
#include <thread>

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
  EXPECT_TRUE(server.Take(10ms).empty());  // nothing malformed reached the learner
  EXPECT_EQ(server.stats().rejected, 4);
  ASSERT_TRUE(send(batch).ok());
  ASSERT_TRUE(send(batch).ok());  // a resend is acknowledged once more and dropped
  EXPECT_EQ(server.stats().duplicates, 1);
  EXPECT_EQ(server.Take(1s).size(), 1u);
}

}  // namespace
}  // namespace hilserl::dist
