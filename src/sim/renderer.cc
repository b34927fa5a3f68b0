#include "sim/renderer.h"

#include <EGL/egl.h>
#include <EGL/eglext.h>

#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl::sim {
namespace {

// One EGL display per process, initialised on first use.
EGLDisplay SharedDisplay() {
  static std::once_flag once;
  static EGLDisplay display = EGL_NO_DISPLAY;
  static std::string failure;
  std::call_once(once, [] {
    auto get_platform_display = reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(
        eglGetProcAddress("eglGetPlatformDisplayEXT"));
    if (get_platform_display == nullptr) {
      failure = "eglGetPlatformDisplayEXT is not available";
      return;
    }
    EGLDisplay d = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
    if (d == EGL_NO_DISPLAY) {
      failure = "no surfaceless EGL display (is libegl-mesa0 installed?)";
      return;
    }
    EGLint major = 0, minor = 0;
    if (eglInitialize(d, &major, &minor) != EGL_TRUE) {
      failure = fmt::format("eglInitialize failed (EGL error 0x{:x})", eglGetError());
      return;
    }
    display = d;
  });
  if (display == EGL_NO_DISPLAY) {
    throw Unavailable("headless rendering unavailable: " + failure);
  }
  return display;
}

}  // namespace

struct OffscreenRenderer::Impl {
  const mjModel* model = nullptr;
  int width = 0;
  int height = 0;
  EGLDisplay display = EGL_NO_DISPLAY;
  EGLContext context = EGL_NO_CONTEXT;
  mjvScene scene;
  mjvCamera camera;
  mjvOption option;
  mjrContext gl;
  std::vector<uint8_t> flipped;

  void MakeCurrent() {
    if (eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, context) != EGL_TRUE) {
      throw Unavailable(fmt::format("eglMakeCurrent failed (EGL error 0x{:x})", eglGetError()));
    }
  }
  void Release() { eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT); }
};

OffscreenRenderer::OffscreenRenderer(const mjModel* model, int width, int height,
                                     const RenderOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (width <= 0 || height <= 0) {
    throw InvalidArgument(fmt::format("render size must be positive, got {}x{}", width, height));
  }
  if (model->vis.global.offwidth < width || model->vis.global.offheight < height) {
    throw InvalidArgument(fmt::format(
        "render size {}x{} exceeds the model's offscreen buffer {}x{} (set "
        "<visual><global offwidth offheight/> or load with a larger size)",
        width, height, model->vis.global.offwidth, model->vis.global.offheight));
  }
  Impl& s = *impl_;
  s.model = model;
  s.width = width;
  s.height = height;
  s.display = SharedDisplay();

  const EGLint config_attribs[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE,
                                   EGL_OPENGL_BIT,   EGL_RED_SIZE,    8,
                                   EGL_GREEN_SIZE,   8,               EGL_BLUE_SIZE,
                                   8,                EGL_DEPTH_SIZE,  24,
                                   EGL_NONE};
  EGLConfig config;
  EGLint num_configs = 0;
  if (eglChooseConfig(s.display, config_attribs, &config, 1, &num_configs) != EGL_TRUE ||
      num_configs < 1) {
    throw Unavailable("headless rendering unavailable: no EGL config with OpenGL + pbuffer");
  }
  if (eglBindAPI(EGL_OPENGL_API) != EGL_TRUE) {
    throw Unavailable("headless rendering unavailable: eglBindAPI(EGL_OPENGL_API) failed");
  }
  s.context = eglCreateContext(s.display, config, EGL_NO_CONTEXT, nullptr);
  if (s.context == EGL_NO_CONTEXT) {
    throw Unavailable(fmt::format("eglCreateContext failed (EGL error 0x{:x})", eglGetError()));
  }
  s.MakeCurrent();
  mjv_defaultScene(&s.scene);
  mjv_makeScene(model, &s.scene, 2000);
  mjv_defaultCamera(&s.camera);
  mjv_defaultOption(&s.option);
  s.scene.flags[mjRND_SHADOW] = options.shadows ? 1 : 0;
  s.scene.flags[mjRND_REFLECTION] = options.reflections ? 1 : 0;
  mjr_defaultContext(&s.gl);
  if (options.multisamples >= 0) {
    // mjr_makeContext reads the sample count from the model; a shallow copy of the model
    // struct (sharing all arrays, used read-only for this call) carries our value.
    mjModel copy = *model;
    copy.vis.quality.offsamples = options.multisamples;
    mjr_makeContext(&copy, &s.gl, mjFONTSCALE_100);
  } else {
    mjr_makeContext(model, &s.gl, mjFONTSCALE_100);
  }
  mjr_setBuffer(mjFB_OFFSCREEN, &s.gl);
  if (s.gl.currentBuffer != mjFB_OFFSCREEN) {
    s.Release();
    throw Unavailable("MuJoCo could not create an offscreen framebuffer");
  }
  s.Release();
  s.flipped.resize(static_cast<size_t>(width) * height * 3);
}

OffscreenRenderer::~OffscreenRenderer() {
  Impl& s = *impl_;
  if (s.context != EGL_NO_CONTEXT) {
    if (eglMakeCurrent(s.display, EGL_NO_SURFACE, EGL_NO_SURFACE, s.context) == EGL_TRUE) {
      mjr_freeContext(&s.gl);
      mjv_freeScene(&s.scene);
      s.Release();
    }
    eglDestroyContext(s.display, s.context);
  }
}

int OffscreenRenderer::width() const { return impl_->width; }
int OffscreenRenderer::height() const { return impl_->height; }

Image OffscreenRenderer::Render(mjData* data, int camera_id) {
  Image out;
  Render(data, camera_id, &out);
  return out;
}

void OffscreenRenderer::Render(mjData* data, int camera_id, Image* out) {
  Impl& s = *impl_;
  if (camera_id < 0 || camera_id >= s.model->ncam) {
    throw InvalidArgument(fmt::format("camera id {} out of range [0, {})", camera_id, s.model->ncam));
  }
  s.MakeCurrent();
  s.camera.type = mjCAMERA_FIXED;
  s.camera.fixedcamid = camera_id;
  mjv_updateScene(s.model, data, &s.option, nullptr, &s.camera, mjCAT_ALL, &s.scene);
  const mjrRect viewport = {0, 0, s.width, s.height};
  mjr_setBuffer(mjFB_OFFSCREEN, &s.gl);
  mjr_render(viewport, &s.scene, &s.gl);
  mjr_readPixels(s.flipped.data(), nullptr, viewport, &s.gl);
  s.Release();

  // OpenGL rows are bottom-up; images are top-down.
  if (out->height != s.height || out->width != s.width || out->channels != 3) {
    *out = Image(s.height, s.width, 3);
  }
  const size_t row = static_cast<size_t>(s.width) * 3;
  for (int r = 0; r < s.height; ++r) {
    std::memcpy(out->data.data() + r * row, s.flipped.data() + (s.height - 1 - r) * row, row);
  }
}

}  // namespace hilserl::sim
