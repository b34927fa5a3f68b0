// Teleoperation devices: what a person uses to take over from the policy.
//
//   SpaceMouse  libspnav (spacenavd): 6-D twist; button 0 closes, button 1 opens the gripper
//   Gamepad     SDL2 game controller: left stick x/y, right stick z (and yaw with the
//               bumpers held); A closes, B opens the gripper; X marks success
//   Keyboard    a terminal (or any byte stream): w/s x, a/d y, r/f z; c closes, o opens
//               the gripper; Enter marks success
//
// Safety: a device reports `active` only while the person is actually moving it (outside
// a dead zone) or has just pressed a button, and only if its last input is fresher than
// `stale_after`; a silent, unplugged or crashed device reads as inactive with a zero
// twist, so it can never move the robot - the policy keeps control, or the robot holds.
// Poll() never throws for a device that disappears; it sets `connected` = false.
//
// Threading: Poll() from one thread (the actor).
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>

namespace hilserl {

struct TeleopCommand {
  std::array<double, 6> twist{};  // x y z rx ry rz in [-1, 1], robot base frame
  int gripper = 0;                // -1 close, +1 open, 0 leave as is
  bool active = false;            // the person wants control this step
  bool success = false;           // the "mark success" button/key was pressed
  bool connected = true;          // false once the device has gone away
};

struct TeleopOptions {
  double dead_zone = 0.1;   // |axis| below this reads as zero
  double stale_after = 0.3; // s without input -> inactive (a held key repeats faster)
};

class TeleopDevice {
 public:
  virtual ~TeleopDevice() = default;
  virtual std::string name() const = 0;
  virtual TeleopCommand Poll() = 0;
};

// Opens a device by name ("spacemouse", "gamepad", "keyboard"). Throws Unavailable with
// what to check (daemon, permissions, cable) if the device cannot be opened, and
// InvalidArgument for an unknown name.
std::unique_ptr<TeleopDevice> OpenTeleopDevice(const std::string& name, const TeleopOptions& options = {});

// A keyboard reading bytes from `fd` (a terminal is switched to raw mode and restored on
// destruction; a pipe works as is, which is how the tests drive it).
std::unique_ptr<TeleopDevice> MakeKeyboardDevice(int fd, const TeleopOptions& options = {});

}  // namespace hilserl
