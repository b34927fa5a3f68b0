#include "teleop/device.h"

#include <unistd.h>

#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.h"
#include "teleop/human_operator.h"
#include "teleop/viewer.h"
#include "wrappers/make_env.h"

namespace hilserl {
namespace {

// A keyboard device on the read end of a pipe: the test types into the write end.
struct PipeKeyboard {
  int fds[2] = {-1, -1};
  std::unique_ptr<TeleopDevice> device;
  PipeKeyboard() {
    EXPECT_EQ(pipe(fds), 0);
    TeleopOptions o;
    o.stale_after = 0.05;  // the keyboard still holds a key for at least 0.6 s
    device = MakeKeyboardDevice(fds[0], o);
  }
  ~PipeKeyboard() {
    device.reset();
    if (fds[1] >= 0) close(fds[1]);
    close(fds[0]);
  }
  void Type(const std::string& keys) { ASSERT_EQ(write(fds[1], keys.data(), keys.size()), static_cast<ssize_t>(keys.size())); }
  void Unplug() {
    close(fds[1]);
    fds[1] = -1;
  }
};

TEST(TeleopDeviceTest, KeyboardKeysBecomeTwistAndGripperAndGoQuietAgain) {
  PipeKeyboard k;
  EXPECT_FALSE(k.device->Poll().active);  // nothing typed: never active
  k.Type("wf");
  TeleopCommand c = k.device->Poll();
  EXPECT_TRUE(c.active);
  EXPECT_EQ(c.twist[0], 1.0);
  EXPECT_EQ(c.twist[2], -1.0);
  EXPECT_EQ(c.twist[1], 0.0);
  k.Type("c\n");
  c = k.device->Poll();
  EXPECT_EQ(c.gripper, -1);
  EXPECT_TRUE(c.success);
  EXPECT_EQ(k.device->Poll().gripper, 0);  // a button press counts once
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  c = k.device->Poll();
  EXPECT_FALSE(c.active);  // keys released: the device goes quiet
  EXPECT_EQ(c.twist[0], 0.0);
}

TEST(TeleopDeviceTest, AnUnpluggedDeviceNeverMovesTheRobot) {
  PipeKeyboard k;
  k.Type("w");
  EXPECT_TRUE(k.device->Poll().active);
  k.Unplug();  // EOF, even though the last key is still "held"
  const TeleopCommand c = k.device->Poll();
  EXPECT_FALSE(c.connected);
  EXPECT_FALSE(c.active);
  EXPECT_EQ(c.twist[0], 0.0);
}

TEST(TeleopDeviceTest, HumanOperatorTakesOverOnlyWhileTheDeviceIsActive) {
  TaskConfig config = TaskConfig::Load("pick_cube");
  auto env = MakeEnv(config);
  env->Reset(0);
  auto keyboard = std::make_unique<PipeKeyboard>();
  PipeKeyboard* k = keyboard.get();
  HumanOperator op(std::move(k->device));
  const Action policy = {0.1f, 0.2f, 0.3f, 1.0f};
  OperatorDecision d = op.Decide(*env, policy);
  EXPECT_FALSE(d.intervened);
  EXPECT_EQ(d.action, policy);
  k->Type("ao");
  d = op.Decide(*env, policy);
  EXPECT_TRUE(d.intervened);
  EXPECT_EQ(d.action, (Action{0.f, 1.f, 0.f, 1.f}));  // +y at full scale, open, nothing else
  k->Unplug();
  d = op.Decide(*env, policy);
  EXPECT_FALSE(d.intervened);  // the policy keeps control
  EXPECT_EQ(d.action, policy);
  keyboard->fds[1] = -1;
}

TEST(TeleopDeviceTest, MissingHardwareIsReportedClearly) {
  // No spacenavd and no game controller on a build machine: a clear Unavailable, no crash.
  for (const char* name : {"spacemouse", "gamepad"}) {
    try {
      auto d = OpenTeleopDevice(name);
      GTEST_SKIP() << name << " present on this machine: " << d->name();
    } catch (const Unavailable& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(OpenTeleopDevice("joystick9000"), InvalidArgument);
}

}  // namespace
}  // namespace hilserl

namespace hilserl {
namespace {

TEST(SimViewerTest, ShowsTheCamerasOfASimulatedTaskHeadless) {
  setenv("SDL_VIDEODRIVER", "dummy", 1);  // no display in tests: SDL's offscreen driver
  TaskConfig config = TaskConfig::Load("pick_cube");
  auto env = MakeEnv(config);
  env->Reset(1);
  SimViewer viewer({"front", "wrist"}, 64, 1);
  viewer.Show(*env);
  viewer.Show(*env);
  EXPECT_EQ(viewer.frames_shown(), 2);
  EXPECT_FALSE(viewer.closed());
  EXPECT_THROW(viewer.ShowFrames({Image(64, 64)}), InvalidArgument);
  EXPECT_THROW(SimViewer({}, 64, 1), InvalidArgument);
}

}  // namespace
}  // namespace hilserl
