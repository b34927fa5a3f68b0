// Headless offscreen rendering of MuJoCo cameras through EGL (no X server needed).
//
// Threading: a renderer may be used from any thread, but from one thread at a time; each
// Render() makes its own GL context current and releases it afterwards.
#pragma once

#include <memory>
#include <string>

#include <mujoco/mujoco.h>

#include "core/types.h"

namespace hilserl::sim {

// Image quality switches. On Mesa's software rasteriser (llvmpipe) each costs a lot: for
// the 128x128 PickCube front camera, shadows ~19 ms, reflections ~5 ms, 4x multisampling
// ~7 ms, against ~6 ms for the plain render (measured, see bench/env_bench.cc).
struct RenderOptions {
  bool shadows = true;
  bool reflections = true;
  int multisamples = -1;  // -1 = the model's <quality offsamples>, 0 = no antialiasing

  // What policies are trained on: no shadows, reflections or antialiasing.
  static RenderOptions Fast() { return RenderOptions{false, false, 0}; }
};

class OffscreenRenderer {
 public:
  // `model` must outlive the renderer and have vis.global.offwidth/offheight at least
  // width x height (LoadModel grows them). Throws Unavailable if no EGL display/context
  // can be created (e.g. Mesa's EGL is not installed: see scripts/install-deps.sh).
  OffscreenRenderer(const mjModel* model, int width, int height,
                    const RenderOptions& options = RenderOptions());
  ~OffscreenRenderer();
  OffscreenRenderer(const OffscreenRenderer&) = delete;
  OffscreenRenderer& operator=(const OffscreenRenderer&) = delete;

  // Renders fixed camera `camera_id` for the state in `data` into an RGB image
  // (height x width x 3, top row first).
  Image Render(mjData* data, int camera_id);
  // Same, into an existing image (reuses its buffer).
  void Render(mjData* data, int camera_id, Image* out);

  int width() const;
  int height() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hilserl::sim
