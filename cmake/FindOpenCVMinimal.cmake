# Finds only the OpenCV modules hilserl uses (core, imgproc, imgcodecs, videoio).
# Debian ships OpenCVConfig.cmake only with the full libopencv-dev metapackage, which
# pulls in VTK and friends; the per-module -dev packages are enough for us.
# Defines OpenCV::Minimal.
find_path(OpenCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
set(_hilserl_cv_libs)
foreach(m core imgproc imgcodecs videoio)
  find_library(OpenCV_${m}_LIBRARY NAMES opencv_${m})
  list(APPEND _hilserl_cv_libs OpenCV_${m}_LIBRARY)
endforeach()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenCVMinimal DEFAULT_MSG OpenCV_INCLUDE_DIR ${_hilserl_cv_libs})
if(OpenCVMinimal_FOUND AND NOT TARGET OpenCV::Minimal)
  add_library(OpenCV::Minimal INTERFACE IMPORTED)
  set_target_properties(OpenCV::Minimal PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${OpenCV_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${OpenCV_core_LIBRARY};${OpenCV_imgproc_LIBRARY};${OpenCV_imgcodecs_LIBRARY};${OpenCV_videoio_LIBRARY}")
endif()
