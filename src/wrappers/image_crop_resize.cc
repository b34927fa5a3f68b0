#include "wrappers/image_crop_resize.h"

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace hilserl {

Image CropAndResize(const Image& src, const CropResize& c) {
  const int w = c.width > 0 ? c.width : src.width - c.x;
  const int h = c.height > 0 ? c.height : src.height - c.y;
  HILSERL_CHECK(c.x >= 0 && c.y >= 0 && w > 0 && h > 0 && c.x + w <= src.width && c.y + h <= src.height,
                "crop region outside the image");
  const cv::Mat in(src.height, src.width, CV_8UC(src.channels), const_cast<uint8_t*>(src.data.data()));
  Image out(c.out_height, c.out_width, src.channels);
  cv::Mat dst(out.height, out.width, CV_8UC(out.channels), out.data.data());
  const cv::Mat roi = in(cv::Rect(c.x, c.y, w, h));
  if (w == out.width && h == out.height) {
    roi.copyTo(dst);
  } else {
    cv::resize(roi, dst, dst.size(), 0, 0, cv::INTER_AREA);
  }
  return out;
}

ImageCropResize::ImageCropResize(std::unique_ptr<Env> inner, std::map<std::string, CropResize> crops)
    : Wrapper(std::move(inner)), crops_(std::move(crops)), spec_(Wrapper::observation_spec()) {
  for (const auto& [cam, c] : crops_) {
    bool found = false;
    for (auto& img : spec_.images) {
      if (img.name != cam) continue;
      found = true;
      const int w = c.width > 0 ? c.width : img.width - c.x;
      const int h = c.height > 0 ? c.height : img.height - c.y;
      if (c.x < 0 || c.y < 0 || w <= 0 || h <= 0 || c.x + w > img.width || c.y + h > img.height) {
        throw InvalidArgument(fmt::format(
            "image_crop: region [x={}, y={}, w={}, h={}] for camera '{}' is outside its {}x{} image",
            c.x, c.y, c.width, c.height, cam, img.width, img.height));
      }
      if (c.out_width < 1 || c.out_height < 1) {
        throw InvalidArgument(fmt::format("image_crop: output size for '{}' must be positive", cam));
      }
      img.height = c.out_height;
      img.width = c.out_width;
    }
    if (!found) {
      throw InvalidArgument(fmt::format("image_crop: camera '{}' is not in the observation "
                                        "(is obs_mode 'pixels' and the camera listed?)", cam));
    }
  }
}

void ImageCropResize::Apply(Observation* obs) const {
  for (const auto& [cam, c] : crops_) {
    auto it = obs->images.find(cam);
    if (it != obs->images.end()) it->second = CropAndResize(it->second, c);
  }
}

Observation ImageCropResize::Reset(uint64_t seed) {
  Observation obs = Wrapper::Reset(seed);
  Apply(&obs);
  return obs;
}

StepResult ImageCropResize::Step(const Action& action) {
  StepResult r = Wrapper::Step(action);
  Apply(&r.observation);
  return r;
}

}  // namespace hilserl
