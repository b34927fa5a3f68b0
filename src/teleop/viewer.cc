#include "teleop/viewer.h"

#include <algorithm>
#include <cstring>

#include <SDL.h>
#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include "core/error.h"

namespace hilserl {

struct SimViewer::Impl {
  SDL_Window* window = nullptr;
  SDL_Renderer* renderer = nullptr;
  SDL_Texture* texture = nullptr;
  std::vector<uint8_t> canvas;  // all cameras side by side
};

SimViewer::SimViewer(std::vector<std::string> cameras, int size, int scale)
    : impl_(std::make_unique<Impl>()), cameras_(std::move(cameras)), size_(size) {
  if (cameras_.empty()) throw InvalidArgument("viewer: no cameras to show");
  if (size_ < 16 || scale < 1) throw InvalidArgument("viewer: size must be >= 16 and scale >= 1");
  SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
  if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) {
    throw Unavailable(fmt::format("viewer: SDL2 cannot open a window here ({}); on a machine without a display, "
                                  "run without the viewer", SDL_GetError()));
  }
  const int w = size_ * static_cast<int>(cameras_.size()), h = size_;
  impl_->window = SDL_CreateWindow("hilserl - cameras", SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, w * scale,
                                   h * scale, SDL_WINDOW_SHOWN);
  if (impl_->window) impl_->renderer = SDL_CreateRenderer(impl_->window, -1, SDL_RENDERER_SOFTWARE);
  if (impl_->renderer) {
    impl_->texture = SDL_CreateTexture(impl_->renderer, SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STREAMING, w, h);
  }
  if (!impl_->texture) {
    const std::string error = SDL_GetError();
    if (impl_->renderer) SDL_DestroyRenderer(impl_->renderer);
    if (impl_->window) SDL_DestroyWindow(impl_->window);
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
    throw Unavailable(fmt::format("viewer: cannot create the window: {}", error));
  }
  impl_->canvas.assign(static_cast<size_t>(w) * h * 3, 0);
}

SimViewer::~SimViewer() {
  SDL_DestroyTexture(impl_->texture);
  SDL_DestroyRenderer(impl_->renderer);
  SDL_DestroyWindow(impl_->window);
  SDL_QuitSubSystem(SDL_INIT_VIDEO);
}

void SimViewer::Show(Env& env) {
  std::vector<Image> frames;
  for (const auto& cam : cameras_) frames.push_back(env.RenderCamera(cam, size_, size_));
  ShowFrames(frames);
}

void SimViewer::ShowFrames(const std::vector<Image>& frames) {
  if (frames.size() != cameras_.size()) throw InvalidArgument("viewer: one frame per camera expected");
  const size_t row = static_cast<size_t>(size_) * cameras_.size() * 3;
  for (size_t c = 0; c < frames.size(); ++c) {
    const Image& f = frames[c];
    if (f.height != size_ || f.width != size_ || f.channels != 3) {
      throw InvalidArgument(fmt::format("viewer: frame of '{}' is {}x{}x{}, expected {}x{}x3", cameras_[c], f.height,
                                        f.width, f.channels, size_, size_));
    }
    for (int r = 0; r < size_; ++r) {
      std::memcpy(&impl_->canvas[r * row + c * size_ * 3], &f.data[static_cast<size_t>(r) * size_ * 3],
                  static_cast<size_t>(size_) * 3);
    }
  }
  SDL_UpdateTexture(impl_->texture, nullptr, impl_->canvas.data(), static_cast<int>(row));
  SDL_RenderClear(impl_->renderer);
  SDL_RenderCopy(impl_->renderer, impl_->texture, nullptr, nullptr);
  SDL_RenderPresent(impl_->renderer);
  ++shown_;
  SDL_Event e;
  while (SDL_PollEvent(&e)) {
    if (e.type == SDL_QUIT || (e.type == SDL_WINDOWEVENT && e.window.event == SDL_WINDOWEVENT_CLOSE) ||
        (e.type == SDL_KEYDOWN && e.key.keysym.sym == SDLK_ESCAPE)) {
      closed_ = true;
    }
  }
}

std::unique_ptr<SimViewer> OpenViewerIfPossible(const Env& env) {
  const std::vector<std::string> cameras = env.camera_names();
  if (cameras.empty()) return nullptr;
  // At the observation image size, renders take the fast path (ArmSimEnv::RenderCamera).
  const int size = env.observation_spec().images.empty() ? 128 : env.observation_spec().images.front().height;
  try {
    return std::make_unique<SimViewer>(cameras, size, std::max(1, 384 / size));
  } catch (const Unavailable& e) {
    spdlog::warn("{} (teleoperating without a view of the scene)", e.what());
    return nullptr;
  }
}

}  // namespace hilserl
