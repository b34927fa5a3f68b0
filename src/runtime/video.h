// Writing what the cameras saw: MP4 videos and PNG frames, for people to look at.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/types.h"

namespace hilserl {

// Places images side by side (all must have the same height) into one RGB image.
Image TileHorizontally(const std::vector<Image>& images);
// Draws a line of text in the top-left corner (white on a dark band).
void DrawLabel(Image* image, const std::string& text);
// Writes an RGB image as PNG; throws Unavailable naming the path on failure.
void WritePng(const Image& image, const std::string& path);

// Streams RGB frames into an MP4 file (MPEG-4 part 2, plays in common players).
// The frame size is fixed by the first frame. Throws Unavailable if the file cannot be
// opened for writing.
class VideoWriter {
 public:
  VideoWriter(const std::string& path, double fps);
  ~VideoWriter();
  void Add(const Image& frame);
  void Close();
  int frames() const { return frames_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
  double fps_;
  int frames_ = 0;
};

}  // namespace hilserl
