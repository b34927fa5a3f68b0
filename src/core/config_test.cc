#include "core/config.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace hilserl {
namespace {

TEST(ConfigNodeTest, ReadsTypedValuesAndKeepsDefaults) {
  ConfigNode node = ConfigNode::FromString("a: 1.5\nb: 3\nc: true\nd: hello\ne: [1, 2, 3]\n", "t");
  double a = 0;
  int b = 0;
  bool c = false;
  std::string d;
  std::vector<double> e;
  int missing = 42;
  node.Get("a", &a);
  node.Get("b", &b);
  node.Get("c", &c);
  node.Get("d", &d);
  node.Get("e", &e);
  node.Get("missing", &missing);
  EXPECT_DOUBLE_EQ(a, 1.5);
  EXPECT_EQ(b, 3);
  EXPECT_TRUE(c);
  EXPECT_EQ(d, "hello");
  EXPECT_EQ(e, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(missing, 42);
  EXPECT_NO_THROW(node.CheckNoUnknownKeys());
}

TEST(ConfigNodeTest, UnknownKeyIsNamedWithSectionAndKnownKeys) {
  ConfigNode root = ConfigNode::FromString("env:\n  cube_size: 0.04\n  cub_mass: 1\n", "task.yaml");
  ConfigNode env = root.Child("env");
  double size = 0;
  env.Get("cube_size", &size);
  try {
    env.CheckNoUnknownKeys();
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("task.yaml"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'env'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unknown key 'cub_mass'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cube_size"), std::string::npos) << msg;
  }
}

TEST(ConfigNodeTest, WrongTypeNamesKeyAndExpectation) {
  ConfigNode node = ConfigNode::FromString("steps: many\n", "x.yaml");
  int steps = 0;
  try {
    node.Get("steps", &steps);
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'steps'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("an integer"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'many'"), std::string::npos) << msg;
  }
}

TEST(ConfigNodeTest, SyntaxErrorAndMissingFile) {
  EXPECT_THROW(ConfigNode::FromString("a: [1, 2\n", "bad.yaml"), InvalidArgument);
  EXPECT_THROW(ConfigNode::FromFile("/nonexistent/file.yaml"), NotFound);
}

TEST(ConfigNodeTest, FixedListLengthIsChecked) {
  ConfigNode node = ConfigNode::FromString("low: [1, 2]\n", "x.yaml");
  std::vector<double> low{0, 0, 0};
  EXPECT_THROW(node.GetFixed("low", 3, &low), InvalidArgument);
}

// Non-finite numbers are refused wherever they come from; an error names the line of the
// file, or the --set flag when the value came from one.
TEST(ConfigNodeTest, NonFiniteNumbersAreRefusedAndErrorsSayWhereTheValueCameFrom) {
  ConfigNode root = ConfigNode::FromString("env:\n  gain: 2.0\n  box: [0, .inf]\n  rate: .nan\n", "t.yaml");
  auto message = [](auto&& read) -> std::string {
    try {
      read();
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    return "";
  };
  ConfigNode env = root.Child("env");
  std::vector<double> box;
  double rate = 0;
  const std::string box_error = message([&] { env.Get("box", &box); });
  EXPECT_NE(box_error.find("finite"), std::string::npos) << box_error;
  EXPECT_NE(box_error.find("line 3"), std::string::npos) << box_error;
  const std::string rate_error = message([&] { env.Get("rate", &rate); });
  EXPECT_NE(rate_error.find("line 4"), std::string::npos) << rate_error;

  root.SetFromAssignment("env.gain=-.inf");
  ConfigNode again = root.Child("env");
  double gain = 0;
  const std::string set_error = message([&] { again.Get("gain", &gain); });
  EXPECT_NE(set_error.find("--set env.gain"), std::string::npos) << set_error;
  EXPECT_EQ(gain, 0.0) << "the default is left as it was";

  ConfigNode other = ConfigNode::FromString("env:\n  gain: 2.0\n", "t.yaml");
  other.SetFromAssignment("env.gian=3");
  ConfigNode typo = other.Child("env");
  typo.Get("gain", &gain);
  const std::string unknown = message([&] { typo.CheckNoUnknownKeys(); });
  EXPECT_NE(unknown.find("--set env.gian"), std::string::npos) << unknown;
}

}  // namespace
}  // namespace hilserl

namespace hilserl {
namespace {

TEST(ConfigNodeTest, SetOverridesNestedKeys) {
  ConfigNode root = ConfigNode::FromString("env:\n  obs_mode: state\n", "t.yaml");
  root.SetFromAssignment("env.obs_mode=pixels");
  root.Set("env.controller.kp_translation", "123");
  root.Set("wrappers.time_limit", "50");
  ConfigNode env = root.Child("env");
  std::string mode;
  env.Get("obs_mode", &mode);
  EXPECT_EQ(mode, "pixels");
  ConfigNode ctrl = env.Child("controller");
  double kp = 0;
  ctrl.Get("kp_translation", &kp);
  EXPECT_DOUBLE_EQ(kp, 123);
  ConfigNode w = root.Child("wrappers");
  int limit = 0;
  w.Get("time_limit", &limit);
  EXPECT_EQ(limit, 50);
  EXPECT_THROW(root.SetFromAssignment("no_equals_sign"), InvalidArgument);
  EXPECT_THROW(root.Set("env.obs_mode.deeper", "1"), InvalidArgument);
}

}  // namespace
}  // namespace hilserl
