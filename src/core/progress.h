// A one-line progress bar on stderr for long work (rollouts, training).
//
// Redraws at most ~10 times a second; on a non-terminal (CI log) prints a line every 10%.
// Not thread-safe: call from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hilserl {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total);
  ~ProgressBar();

  // Sets progress to `done` with an extra status text (e.g. "success 0.95").
  void Update(int64_t done, const std::string& status = "");
  // Draws the final state and ends the line.
  void Finish(const std::string& status = "");

 private:
  void Draw(bool final_draw);

  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  std::string status_;
  bool tty_;
  bool finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace hilserl
