#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace hilserl {

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (!finished_) Finish(status_);
}

void ProgressBar::Update(int64_t done, const std::string& status) {
  done_ = std::min(done, total_);
  status_ = status;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(100) && done_ < total_) return;
    last_draw_ = now;
    Draw(false);
  } else {
    const int decile = static_cast<int>(10 * done_ / total_);
    if (decile != last_decile_) {
      last_decile_ = decile;
      Draw(false);
    }
  }
}

void ProgressBar::Finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  // A log (non-tty) already has the line for 100% unless the status changed.
  if (!tty_ && last_decile_ == 10 && status == status_) return;
  status_ = status;
  Draw(true);
}

void ProgressBar::Draw(bool final_draw) {
  constexpr int kWidth = 30;
  const double frac = static_cast<double>(done_) / static_cast<double>(total_);
  const int filled = static_cast<int>(frac * kWidth);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  const std::string line =
      fmt::format("{} [{}] {}/{} {:.1f}s eta {:.0f}s {}", label_, bar, done_, total_, elapsed,
                  final_draw ? 0.0 : eta, status_);
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final_draw ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace hilserl
