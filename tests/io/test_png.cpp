// Tests for PNG output: pixels survive, the "parameters" text is a tEXt chunk when it is Latin-1
// and an iTXt chunk (UTF-8) otherwise, readable with a valid CRC; writes are atomic and respect
// overwrite; bad images and damaged chunks are clear input errors. (PngSuite: test_pngsuite.cpp.)
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

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

// The data of the first chunk of `type` in PNG `bytes` ("<none>" when there is none).
std::string chunk_data(const std::string& bytes, const std::string& type) {
  for (size_t at = 8; at + 12 <= bytes.size(); at += 12 + be32(bytes, at)) {
    if (bytes.compare(at + 4, 4, type) == 0) return bytes.substr(at + 8, be32(bytes, at));
  }
  return "<none>";
}

const std::string kNul(1, '\0');
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

// Chinese prompts are the point of this engine: tEXt is Latin-1 by the PNG spec, so readers that
// follow it (Pillow, A1111) showed mojibake. Non-Latin-1 text goes in an uncompressed iTXt chunk:
// keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translated keyword,
// NUL, UTF-8 text.
TEST(Png, ChineseTextIsWrittenAsUncompressedItxt) {
  const std::string text = "\xe4\xb8\x80\xe5\x8f\xaa\xe7\x8c\xab, a cat\nSteps: 8";  // 一只猫
  const std::string png = io::encode_png(gradient(4, 3), "parameters", text);
  EXPECT_EQ(chunk_data(png, "iTXt"), "parameters" + kNul + std::string(2, '\0') + kNul + kNul + text);
  EXPECT_EQ(chunk_data(png, "tEXt"), "<none>");
  EXPECT_EQ(io::png_text(png, "parameters"), text);
}

TEST(Png, LatinOneTextIsWrittenAsTextWithLatinOneBytes) {
  const std::string text = "caf\xc3\xa9 cr\xc3\xa8me\nSteps: 8";  // café crème, UTF-8
  const std::string png = io::encode_png(gradient(4, 3), "parameters", text);
  EXPECT_EQ(chunk_data(png, "tEXt"), "parameters" + kNul + "caf\xe9 cr\xe8me\nSteps: 8");
  EXPECT_EQ(chunk_data(png, "iTXt"), "<none>");
  EXPECT_EQ(io::png_text(png, "parameters"), text);  // read back as UTF-8
}

// tEXt allows newline as its only control character; a tab, or a no-break space (U+00A0,
// outside the tEXt set), needs iTXt.
TEST(Png, ControlCharactersOtherThanNewlineGoToItxt) {
  for (const std::string text : {"a\tb", "a\xc2\xa0" "b", "a\rb"}) {
    const std::string png = io::encode_png(gradient(2, 2), "parameters", text);
    EXPECT_EQ(chunk_data(png, "tEXt"), "<none>") << text;
    EXPECT_EQ(io::png_text(png, "parameters"), text);
  }
}

TEST(Png, InvalidUtf8IsStoredAsReplacementCharacters) {
  const std::string png = io::encode_png(gradient(2, 2), "parameters", "bad\xff byte \xe4\xb8");
  EXPECT_EQ(io::png_text(png, "parameters"), "bad\xef\xbf\xbd byte \xef\xbf\xbd\xef\xbf\xbd");
}

// A damaged ancillary chunk is an error too, not text that silently reads as absent.
TEST(Png, DamagedTextChunkIsAnInputErrorNamingIt) {
  auto dir = pangu_draw::testing::temp_dir("png");
  std::string png = io::encode_png(gradient(4, 4), "parameters", "a red cube");
  png[png.find("a red cube")] = 'A';
  io::write_file_atomic(dir + "/damaged.png", png, false);
  for (int reader = 0; reader < 2; ++reader) {
    try {
      if (reader == 0) io::read_image(dir + "/damaged.png");
      if (reader == 1) io::png_text(png, "parameters");
      ADD_FAILURE() << "reader " << reader << " accepted a damaged tEXt chunk";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind, pangu_draw::ErrorKind::Input);
      EXPECT_NE(std::string(e.what()).find("CRC of its tEXt chunk"), std::string::npos) << e.what();
    }
  }
}
