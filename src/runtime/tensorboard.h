// TensorBoard event files without TensorFlow: `tensorboard --logdir <run dir>` shows the
// scalars. The file is a TFRecord stream (length, masked CRC-32C of the length, payload,
// masked CRC-32C of the payload) of `Event` protocol buffers, which this writer encodes
// by hand (wall_time = 1, step = 2, file_version = 3, summary = 5; Summary.value = 1;
// Value.tag = 1, Value.simple_value = 2).
//
// Threading: not thread-safe; one writer per thread or guard it.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace hilserl {

// CRC-32C (Castagnoli), as TFRecord uses; and TFRecord's masking of it.
uint32_t Crc32c(const void* data, size_t n);
uint32_t MaskedCrc32c(const void* data, size_t n);

class TensorBoardWriter {
 public:
  // Creates <dir>/events.out.tfevents.<unix time>.hilserl (and the directory).
  explicit TensorBoardWriter(const std::string& dir);
  void Scalar(const std::string& tag, int64_t step, double value);
  void Flush();
  const std::string& path() const { return path_; }

 private:
  void WriteRecord(const std::string& payload);
  std::string path_;
  std::ofstream out_;
};

}  // namespace hilserl
