#include "runtime/tensorboard.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hilserl {
namespace {

TEST(TensorBoardTest, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xe3069283u);
  EXPECT_EQ(Crc32c("", 0), 0u);
}

// Reads a TFRecord file, checking both CRCs of every record.
std::vector<std::string> ReadRecords(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint64_t len;
    uint32_t len_crc, data_crc;
    EXPECT_LE(pos + 12, bytes.size());
    std::memcpy(&len, bytes.data() + pos, 8);
    std::memcpy(&len_crc, bytes.data() + pos + 8, 4);
    EXPECT_EQ(len_crc, MaskedCrc32c(bytes.data() + pos, 8));
    const std::string payload = bytes.substr(pos + 12, len);
    std::memcpy(&data_crc, bytes.data() + pos + 12 + len, 4);
    EXPECT_EQ(data_crc, MaskedCrc32c(payload.data(), payload.size()));
    records.push_back(payload);
    pos += 12 + len + 4;
  }
  return records;
}

TEST(TensorBoardTest, WritesFramedEventsWithTagsStepsAndValues) {
  const std::string dir = (std::filesystem::temp_directory_path() / "hilserl_tb").string();
  std::filesystem::remove_all(dir);
  std::string path;
  {
    TensorBoardWriter w(dir);
    path = w.path();
    w.Scalar("train/success_rate", 300, 0.25);
    w.Scalar("learner/critic_loss", 1000000, 1.5);
  }
  EXPECT_NE(path.find("events.out.tfevents."), std::string::npos);
  const std::vector<std::string> records = ReadRecords(path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_NE(records[0].find("brain.Event:2"), std::string::npos);
  // Event: wall_time (tag 0x09 + 8 bytes), step (tag 0x10 + varint 300 = ac 02), summary.
  EXPECT_EQ(static_cast<uint8_t>(records[1][0]), 0x09);
  EXPECT_EQ(static_cast<uint8_t>(records[1][9]), 0x10);
  EXPECT_EQ(static_cast<uint8_t>(records[1][10]), 0xac);
  EXPECT_EQ(static_cast<uint8_t>(records[1][11]), 0x02);
  EXPECT_NE(records[1].find("train/success_rate"), std::string::npos);
  // simple_value: tag 0x15 then the float.
  const size_t v = records[1].rfind('\x15');
  ASSERT_NE(v, std::string::npos);
  float value;
  std::memcpy(&value, records[1].data() + v + 1, 4);
  EXPECT_EQ(value, 0.25f);
  EXPECT_NE(records[2].find("learner/critic_loss"), std::string::npos);
}

}  // namespace
}  // namespace hilserl
