// SimViewer: a live window showing what the robot's cameras see, so that a person can
// teleoperate a simulated task (SDL2 window; camera images side by side, scaled up).
// The window shows the env's renders of `cameras` each time Show() is called; closing it
// (or pressing Escape in it) sets closed(). Without a display SDL reports why and the
// constructor throws Unavailable; with SDL_VIDEODRIVER=dummy it runs headless (tests).
// Threading: use from one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "envs/env.h"

namespace hilserl {

class SimViewer {
 public:
  // size: rendered pixels per camera (square); scale: window pixels per rendered pixel.
  SimViewer(std::vector<std::string> cameras, int size = 240, int scale = 2);
  ~SimViewer();
  SimViewer(const SimViewer&) = delete;
  SimViewer& operator=(const SimViewer&) = delete;

  // Renders the cameras of `env` and shows them; also handles window events.
  void Show(Env& env);
  // Shows prepared frames (each size x size RGB).
  void ShowFrames(const std::vector<Image>& frames);
  bool closed() const { return closed_; }
  int frames_shown() const { return shown_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> cameras_;
  int size_;
  bool closed_ = false;
  int shown_ = 0;
};

// A viewer of every camera of `env` for a person teleoperating it, or nullptr (with a
// warning saying why) when no window can be opened.
std::unique_ptr<SimViewer> OpenViewerIfPossible(const Env& env);

}  // namespace hilserl
