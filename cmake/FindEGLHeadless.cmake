# Finds libEGL for headless (surfaceless) offscreen rendering. Defines EGL::EGL.
find_path(EGL_INCLUDE_DIR EGL/egl.h)
find_library(EGL_LIBRARY NAMES EGL)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(EGLHeadless DEFAULT_MSG EGL_LIBRARY EGL_INCLUDE_DIR)
if(EGLHeadless_FOUND AND NOT TARGET EGL::EGL)
  add_library(EGL::EGL UNKNOWN IMPORTED)
  set_target_properties(EGL::EGL PROPERTIES IMPORTED_LOCATION "${EGL_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${EGL_INCLUDE_DIR}")
endif()
