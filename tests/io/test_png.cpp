// Tests for PNG output: pixels survive, the "parameters" tEXt chunk is readable with a valid CRC,
// writes are atomic and respect overwrite, bad images are clear input errors.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/png.h"
#include "support/fixtures.h"

using pangu_draw::Error;
using pangu_draw::Image;
namespace io = pangu_draw::io;

namespace {
Image gradient(int w, int h) {
  Image img{w, h, std::vector<uint8_t>(size_t(w) * h * 3)};
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>(i * 7);
  return img;
}
}  // namespace

TEST(Png, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(io::crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(io::crc32("IEND"), 0xAE426082u);
}

TEST(Png, RoundTripKeepsPixelsAndParameters) {
  auto dir = pangu_draw::testing::temp_dir("png");
  const std::string params = "a red cube\nSteps: 8, Sampler: euler, Seed: 7, Size: 16x8";
  auto img = gradient(16, 8);
  io::write_png_file(dir + "/a.png", img, params, false);
  auto back = io::read_image(dir + "/a.png");
  EXPECT_EQ(back.width, 16);
  EXPECT_EQ(back.height, 8);
  EXPECT_EQ(back.rgb, img.rgb);
  const std::string bytes = io::read_file(dir + "/a.png");
  EXPECT_EQ(io::png_text(bytes, "parameters"), params);
  EXPECT_EQ(io::png_text(bytes, "other"), "");
  // The chunk's stored CRC covers its type and data.
  const size_t at = bytes.find("tEXt");
  ASSERT_NE(at, std::string::npos);
  const uint32_t len = (uint8_t(bytes[at - 4]) << 24) | (uint8_t(bytes[at - 3]) << 16) |
                       (uint8_t(bytes[at - 2]) << 8) | uint8_t(bytes[at - 1]);
  const std::string body = bytes.substr(at, 4 + len);
  const std::string crc = bytes.substr(at + 4 + len, 4);
  const uint32_t stored = (uint8_t(crc[0]) << 24) | (uint8_t(crc[1]) << 16) | (uint8_t(crc[2]) << 8) | uint8_t(crc[3]);
  EXPECT_EQ(stored, io::crc32(body));
}

TEST(Png, ExistingFileIsKeptWithoutOverwrite) {
  auto dir = pangu_draw::testing::temp_dir("png");
  io::write_png_file(dir + "/a.png", gradient(4, 4), "first", false);
  EXPECT_THROW(io::write_png_file(dir + "/a.png", gradient(4, 4), "second", false), Error);
  EXPECT_EQ(io::png_text(io::read_file(dir + "/a.png"), "parameters"), "first");
  io::write_png_file(dir + "/a.png", gradient(4, 4), "second", true);
  EXPECT_EQ(io::png_text(io::read_file(dir + "/a.png"), "parameters"), "second");
}

// A zero-length IDAT ahead of the data is legal PNG; stb alone memcpy'd into a NULL buffer on it
// (UB found by fuzz_png). The image still decodes to the same pixels.
TEST(Png, EmptyIdatChunkIsHarmless) {
  auto dir = pangu_draw::testing::temp_dir("png");
  const auto img = gradient(6, 5);
  io::write_png_file(dir + "/a.png", img, "", false);
  std::string bytes = io::read_file(dir + "/a.png");
  const size_t idat = bytes.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  const std::string empty_idat = std::string(4, '\0') + "IDAT" + "\x35\xaf\x06\x1e";
  ASSERT_EQ(io::crc32("IDAT"), 0x35af061eu);
  bytes.insert(idat - 4, empty_idat);
  io::write_file_atomic(dir + "/b.png", bytes, false);
  const auto back = io::read_image(dir + "/b.png");
  EXPECT_EQ(back.width, 6);
  EXPECT_EQ(back.rgb, img.rgb);
}

TEST(Png, UnwritableFolderIsAnErrorAndLeavesNoFile) {
  EXPECT_THROW(io::write_png_file("/nonexistent/dir/a.png", gradient(4, 4), "", true), Error);
}

TEST(Png, UnreadableImageIsInputErrorNamingTheFile) {
  auto dir = pangu_draw::testing::temp_dir("png");
  std::ofstream(dir + "/bad.png") << "not an image";
  try {
    io::read_image(dir + "/bad.png");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind, pangu_draw::ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("bad.png"), std::string::npos);
  }
}

TEST(Png, FixtureControlImageReads) {
  for (const auto& set : pangu_draw::testing::fixture_sets()) {
    const std::string path = pangu_draw::testing::fixtures_root() + "/" + set + "/reference/control.png";
    if (!std::ifstream(path)) continue;
    auto img = io::read_image(path);
    EXPECT_GT(img.width, 0);
    EXPECT_EQ(img.rgb.size(), size_t(img.width) * img.height * 3);
  }
}
