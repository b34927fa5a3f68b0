// ImageCropResize: crops each configured camera image to a region of interest and resizes
// it (area interpolation) to the size the encoder expects, 128 x 128 by default
// (the paper). Cameras without an entry pass through unchanged.
#pragma once

#include <map>
#include <string>

#include "wrappers/wrapper.h"

namespace hilserl {

struct CropResize {
  // Region of interest in source pixels: column, row of the top-left corner, width, height.
  // A zero width/height means "to the image edge".
  int x = 0, y = 0, width = 0, height = 0;
  int out_height = 128;
  int out_width = 128;
};

class ImageCropResize final : public Wrapper {
 public:
  // Throws InvalidArgument if a camera is not observed or a region leaves the image.
  ImageCropResize(std::unique_ptr<Env> inner, std::map<std::string, CropResize> crops);
  const ObservationSpec& observation_spec() const override { return spec_; }
  Observation Reset(uint64_t seed) override;
  StepResult Step(const Action& action) override;

 private:
  void Apply(Observation* obs) const;

  std::map<std::string, CropResize> crops_;
  ObservationSpec spec_;
};

// Crops `src` to the region and resizes it. Exposed for tests and tools.
Image CropAndResize(const Image& src, const CropResize& c);

}  // namespace hilserl
