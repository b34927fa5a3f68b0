#include "teleop/device.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <SDL.h>
#include <spnav.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {
namespace {

using Clock = std::chrono::steady_clock;

double DeadZone(double v, double dz) { return std::abs(v) < dz ? 0.0 : std::clamp(v, -1.0, 1.0); }

bool AnyMotion(const std::array<double, 6>& t) {
  return std::any_of(t.begin(), t.end(), [](double v) { return v != 0.0; });
}

// ---- keyboard ----

class KeyboardDevice final : public TeleopDevice {
 public:
  KeyboardDevice(int fd, const TeleopOptions& o) : fd_(fd), options_(o) {
    // A key held down repeats only after the terminal's repeat delay (250-600 ms), so a
    // key press keeps its axis for at least that long.
    hold_ = std::max(o.stale_after, 0.6);
    if (isatty(fd_)) {
      if (tcgetattr(fd_, &saved_) != 0) throw Unavailable(fmt::format("keyboard: cannot read terminal settings: {}", std::strerror(errno)));
      termios raw = saved_;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      if (tcsetattr(fd_, TCSANOW, &raw) != 0) throw Unavailable("keyboard: cannot switch the terminal to raw mode");
      restore_ = true;
    }
    flags_ = fcntl(fd_, F_GETFL);
    if (flags_ < 0 || fcntl(fd_, F_SETFL, flags_ | O_NONBLOCK) != 0) {
      throw Unavailable(fmt::format("keyboard: cannot make fd {} non-blocking", fd_));
    }
    last_.fill(Clock::time_point::min());
  }
  ~KeyboardDevice() override {
    if (restore_) tcsetattr(fd_, TCSANOW, &saved_);
    if (flags_ >= 0) fcntl(fd_, F_SETFL, flags_);
  }
  std::string name() const override { return "keyboard"; }

  TeleopCommand Poll() override {
    TeleopCommand cmd;
    char buf[256];
    const auto now = Clock::now();
    while (connected_) {
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n > 0) {
        for (ssize_t i = 0; i < n; ++i) Key(buf[i], now, &cmd);
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) connected_ = false;  // EOF or error
      break;
    }
    cmd.connected = connected_;
    for (int a = 0; a < 6; ++a) {
      const bool fresh = connected_ && std::chrono::duration<double>(now - last_[a]).count() < hold_;
      cmd.twist[a] = fresh ? value_[a] : 0.0;
    }
    if (!connected_) cmd.gripper = 0, cmd.success = false;
    cmd.active = connected_ && (AnyMotion(cmd.twist) || cmd.gripper != 0);
    return cmd;
  }

 private:
  void Key(char c, Clock::time_point now, TeleopCommand* cmd) {
    auto axis = [&](int a, double v) {
      value_[a] = v;
      last_[a] = now;
    };
    switch (c) {
      case 'w': axis(0, 1.0); break;
      case 's': axis(0, -1.0); break;
      case 'a': axis(1, 1.0); break;
      case 'd': axis(1, -1.0); break;
      case 'r': axis(2, 1.0); break;
      case 'f': axis(2, -1.0); break;
      case 'c': cmd->gripper = -1; break;
      case 'o': cmd->gripper = 1; break;
      case '\n': case '\r': cmd->success = true; break;
      default: break;
    }
  }

  int fd_;
  TeleopOptions options_;
  double hold_ = 0.6;
  termios saved_{};
  bool restore_ = false;
  int flags_ = -1;
  bool connected_ = true;
  std::array<double, 6> value_{};
  std::array<Clock::time_point, 6> last_{};
};

// ---- SpaceMouse (libspnav) ----

class SpaceMouseDevice final : public TeleopDevice {
 public:
  explicit SpaceMouseDevice(const TeleopOptions& o) : options_(o) {
    if (spnav_open() == -1) {
      throw Unavailable(
          "spacemouse: cannot connect to spacenavd. Install and start it (apt-get install spacenavd; "
          "systemctl start spacenavd) and plug the SpaceMouse in");
    }
  }
  ~SpaceMouseDevice() override { spnav_close(); }
  std::string name() const override { return "spacemouse"; }

  TeleopCommand Poll() override {
    TeleopCommand cmd;
    spnav_event ev;
    const auto now = Clock::now();
    while (spnav_poll_event(&ev) != 0) {
      if (ev.type == SPNAV_EVENT_MOTION) {
        // spacenavd axes (x right, y up, z toward the user) -> robot base frame with the
        // operator facing the robot: push forward = +x, left = +y, lift = +z.
        const double s = 1.0 / kFullScale;
        raw_ = {-ev.motion.z * s, -ev.motion.x * s, ev.motion.y * s, -ev.motion.rz * s, -ev.motion.rx * s,
                ev.motion.ry * s};
        last_motion_ = now;
      } else if (ev.type == SPNAV_EVENT_BUTTON && ev.button.press) {
        if (ev.button.bnum == 0) cmd.gripper = -1;
        if (ev.button.bnum == 1) cmd.gripper = 1;
      }
    }
    const bool fresh = std::chrono::duration<double>(now - last_motion_).count() < options_.stale_after;
    for (int a = 0; a < 6; ++a) cmd.twist[a] = fresh ? DeadZone(raw_[a], options_.dead_zone) : 0.0;
    cmd.active = AnyMotion(cmd.twist) || cmd.gripper != 0;
    return cmd;
  }

 private:
  static constexpr double kFullScale = 350.0;  // typical |axis| at full deflection
  TeleopOptions options_;
  std::array<double, 6> raw_{};
  Clock::time_point last_motion_ = Clock::time_point::min();
};

// ---- gamepad (SDL2) ----

class GamepadDevice final : public TeleopDevice {
 public:
  explicit GamepadDevice(const TeleopOptions& o) : options_(o) {
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    if (SDL_Init(SDL_INIT_GAMECONTROLLER) != 0) {
      throw Unavailable(fmt::format("gamepad: SDL2 cannot start its game controller support: {}", SDL_GetError()));
    }
    for (int i = 0; i < SDL_NumJoysticks() && !pad_; ++i) {
      if (SDL_IsGameController(i)) pad_ = SDL_GameControllerOpen(i);
    }
    if (!pad_) {
      const int n = SDL_NumJoysticks();
      SDL_QuitSubSystem(SDL_INIT_GAMECONTROLLER);
      throw Unavailable(fmt::format("gamepad: no game controller found (SDL2 sees {} joysticks). Plug one in and check "
                                    "that /dev/input/event* is readable by this user",
                                    n));
    }
    name_ = fmt::format("gamepad ({})", SDL_GameControllerName(pad_));
  }
  ~GamepadDevice() override {
    SDL_GameControllerClose(pad_);
    SDL_QuitSubSystem(SDL_INIT_GAMECONTROLLER);
  }
  std::string name() const override { return name_; }

  TeleopCommand Poll() override {
    TeleopCommand cmd;
    SDL_GameControllerUpdate();
    if (!SDL_GameControllerGetAttached(pad_)) {
      cmd.connected = false;  // unplugged: never moves the robot
      return cmd;
    }
    auto axis = [&](SDL_GameControllerAxis a) {
      return DeadZone(SDL_GameControllerGetAxis(pad_, a) / 32767.0, options_.dead_zone);
    };
    const bool rotate = SDL_GameControllerGetButton(pad_, SDL_CONTROLLER_BUTTON_LEFTSHOULDER) ||
                        SDL_GameControllerGetButton(pad_, SDL_CONTROLLER_BUTTON_RIGHTSHOULDER);
    cmd.twist[0] = -axis(SDL_CONTROLLER_AXIS_LEFTY);
    cmd.twist[1] = -axis(SDL_CONTROLLER_AXIS_LEFTX);
    cmd.twist[2] = -axis(SDL_CONTROLLER_AXIS_RIGHTY);
    if (rotate) cmd.twist[5] = -axis(SDL_CONTROLLER_AXIS_RIGHTX);
    auto pressed = [&](SDL_GameControllerButton b, bool* was) {
      const bool now = SDL_GameControllerGetButton(pad_, b) != 0;
      const bool edge = now && !*was;
      *was = now;
      return edge;
    };
    if (pressed(SDL_CONTROLLER_BUTTON_A, &a_)) cmd.gripper = -1;
    if (pressed(SDL_CONTROLLER_BUTTON_B, &b_)) cmd.gripper = 1;
    cmd.success = pressed(SDL_CONTROLLER_BUTTON_X, &x_);
    cmd.active = AnyMotion(cmd.twist) || cmd.gripper != 0;
    return cmd;
  }

 private:
  TeleopOptions options_;
  SDL_GameController* pad_ = nullptr;
  std::string name_;
  bool a_ = false, b_ = false, x_ = false;
};

}  // namespace

std::unique_ptr<TeleopDevice> MakeKeyboardDevice(int fd, const TeleopOptions& options) {
  return std::make_unique<KeyboardDevice>(fd, options);
}

std::unique_ptr<TeleopDevice> OpenTeleopDevice(const std::string& name, const TeleopOptions& options) {
  if (name == "spacemouse") return std::make_unique<SpaceMouseDevice>(options);
  if (name == "gamepad") return std::make_unique<GamepadDevice>(options);
  if (name == "keyboard") {
    if (!isatty(STDIN_FILENO)) throw Unavailable("keyboard: standard input is not a terminal");
    return MakeKeyboardDevice(STDIN_FILENO, options);
  }
  throw InvalidArgument(fmt::format("unknown teleop device '{}' (known: spacemouse, gamepad, keyboard)", name));
}

}  // namespace hilserl
