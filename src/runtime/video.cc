#include "runtime/video.h"

#include <filesystem>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/error.h"

namespace hilserl {

Image TileHorizontally(const std::vector<Image>& images) {
  HILSERL_CHECK(!images.empty(), "TileHorizontally needs at least one image");
  int width = 0;
  const int height = images[0].height;
  for (const auto& im : images) {
    HILSERL_CHECK(im.height == height && im.channels == 3, "tiled images must share height and be RGB");
    width += im.width;
  }
  Image out(height, width, 3);
  int col = 0;
  for (const auto& im : images) {
    for (int r = 0; r < height; ++r) {
      std::copy_n(im.data.data() + static_cast<size_t>(r) * im.width * 3, im.width * 3,
                  out.data.data() + (static_cast<size_t>(r) * width + col) * 3);
    }
    col += im.width;
  }
  return out;
}

void DrawLabel(Image* image, const std::string& text) {
  cv::Mat m(image->height, image->width, CV_8UC3, image->data.data());
  const double scale = std::max(0.35, image->height / 600.0);
  cv::rectangle(m, cv::Rect(0, 0, image->width, static_cast<int>(22 * scale / 0.5)), cv::Scalar(20, 20, 20), cv::FILLED);
  cv::putText(m, text, cv::Point(4, static_cast<int>(16 * scale / 0.5)), cv::FONT_HERSHEY_SIMPLEX, scale,
              cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
}

void WritePng(const Image& image, const std::string& path) {
  cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.data.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  if (!cv::imwrite(path, bgr)) throw Unavailable(fmt::format("could not write PNG '{}'", path));
}

struct VideoWriter::Impl {
  cv::VideoWriter writer;
  cv::Mat bgr;
};

VideoWriter::VideoWriter(const std::string& path, double fps)
    : impl_(std::make_unique<Impl>()), path_(path), fps_(fps) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
}

VideoWriter::~VideoWriter() { Close(); }

void VideoWriter::Add(const Image& frame) {
  cv::Mat rgb(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.data.data()));
  if (!impl_->writer.isOpened()) {
    if (frames_ > 0) return;  // closed
    impl_->writer.open(path_, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), fps_,
                       cv::Size(frame.width, frame.height));
    if (!impl_->writer.isOpened()) {
      throw Unavailable(fmt::format("could not open video '{}' for writing (OpenCV videoio with "
                                    "FFmpeg is needed: libopencv-videoio-dev)", path_));
    }
  }
  cv::cvtColor(rgb, impl_->bgr, cv::COLOR_RGB2BGR);
  impl_->writer.write(impl_->bgr);
  ++frames_;
}

void VideoWriter::Close() {
  if (impl_ && impl_->writer.isOpened()) impl_->writer.release();
}

}  // namespace hilserl
