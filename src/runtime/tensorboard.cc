#include "runtime/tensorboard.h"

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {
namespace {

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    t[i] = c;
  }
  return t;
}

void Varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

template <typename T>
void Fixed(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian host (x86-64, aarch64)
  out->append(b, sizeof(T));
}

void LengthDelimited(std::string* out, int field, const std::string& bytes) {
  Varint(out, (static_cast<uint64_t>(field) << 3) | 2);
  Varint(out, bytes.size());
  out->append(bytes);
}

double WallTime() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t Crc32c(const void* data, size_t n) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

uint32_t MaskedCrc32c(const void* data, size_t n) {
  const uint32_t c = Crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  path_ = (std::filesystem::path(dir) /
           fmt::format("events.out.tfevents.{}.hilserl", std::chrono::duration_cast<std::chrono::seconds>(now).count()))
              .string();
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw Unavailable(fmt::format("cannot write TensorBoard events to '{}'", path_));
  std::string event;
  Varint(&event, (1 << 3) | 1);
  Fixed(&event, WallTime());
  LengthDelimited(&event, 3, "brain.Event:2");
  WriteRecord(event);
  Flush();
}

void TensorBoardWriter::Scalar(const std::string& tag, int64_t step, double value) {
  std::string v;
  LengthDelimited(&v, 1, tag);
  Varint(&v, (2 << 3) | 5);
  Fixed(&v, static_cast<float>(value));
  std::string summary;
  LengthDelimited(&summary, 1, v);
  std::string event;
  Varint(&event, (1 << 3) | 1);
  Fixed(&event, WallTime());
  Varint(&event, 2 << 3);
  Varint(&event, static_cast<uint64_t>(step));
  LengthDelimited(&event, 5, summary);
  WriteRecord(event);
}

void TensorBoardWriter::WriteRecord(const std::string& payload) {
  std::string header;
  Fixed(&header, static_cast<uint64_t>(payload.size()));
  const uint32_t length_crc = MaskedCrc32c(header.data(), header.size());
  Fixed(&header, length_crc);
  out_.write(header.data(), static_cast<std::streamsize>(header.size()));
  out_.write(payload.data(), static_cast<std::streamsize>(payload.size()));
  std::string footer;
  Fixed(&footer, MaskedCrc32c(payload.data(), payload.size()));
  out_.write(footer.data(), static_cast<std::streamsize>(footer.size()));
}

void TensorBoardWriter::Flush() { out_.flush(); }

}  // namespace hilserl
