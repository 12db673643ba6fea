// Tests of the PNG reader on PngSuite (tests/io/data/pngsuite, files nobody here wrote): every
// colour type and bit depth, plain and interlaced, decodes to the pixels Pillow reads; the text
// chunks (tEXt, zTXt, iTXt in three scripts) read as Pillow reads them; and every corrupt x* file
// is an Error{Input} naming the file, a bad CRC naming its chunk.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/png.h"
#include "support/fixtures.h"

using pangu_draw::Error;
using pangu_draw::ErrorKind;
namespace io = pangu_draw::io;

namespace {

std::string suite_file(const std::string& name) { return std::string(PD_PNGSUITE_DIR) + "/" + name + ".png"; }

// reference.json, written by tests/io/pngsuite_reference.py with Pillow.
const nlohmann::json& reference() {
  static const nlohmann::json ref = pangu_draw::testing::read_json(std::string(PD_PNGSUITE_DIR) + "/reference.json");
  return ref;
}

// The message of read_image's error on `name` ("" and a test failure when it reads).
std::string read_error(const std::string& name) {
  try {
    io::read_image(suite_file(name));
  } catch (const Error& e) {
    EXPECT_EQ(e.kind, ErrorKind::Input) << name;
    return e.what();
  }
  ADD_FAILURE() << name << " was read; it is corrupt";
  return "";
}

}  // namespace

TEST(PngSuite, EveryColourTypeAndDepthDecodesToPillowsPixels) {
  const auto& images = reference().at("images");
  ASSERT_GE(images.size(), 19u);  // bas*: 15 plain + 5 interlaced kinds, and the ct* files
  for (const auto& [name, want] : images.items()) {
    const auto image = io::read_image(suite_file(name));
    EXPECT_EQ(image.width, want.at("width").get<int>()) << name;
    EXPECT_EQ(image.height, want.at("height").get<int>()) << name;
    const std::string rgb(image.rgb.begin(), image.rgb.end());
    EXPECT_EQ(io::crc32(rgb), want.at("rgb_crc32").get<uint32_t>()) << name << ": RGB8 pixels differ from Pillow's";
  }
}

TEST(PngSuite, InterlacedImagesEqualTheirPlainTwins) {
  for (const std::string kind : {"0g04", "2c08", "6a08", "4a16"}) {
    const auto plain = io::read_image(suite_file("basn" + kind));
    const auto interlaced = io::read_image(suite_file("basi" + kind));
    EXPECT_EQ(interlaced.rgb, plain.rgb) << kind;
  }
}

TEST(PngSuite, TextChunksReadAsPillowReadsThem) {
  const auto& texts = reference().at("text");
  ASSERT_EQ(texts.size(), 5u);  // ct1 (tEXt), ctz (zTXt), ctf / cth / ctj (iTXt)
  for (const auto& [name, chunks] : texts.items()) {
    const std::string bytes = io::read_file(suite_file(name));
    for (const auto& [key, text] : chunks.items()) {
      EXPECT_EQ(io::png_text(bytes, key), text.get<std::string>()) << name << " " << key;
    }
    EXPECT_EQ(io::png_text(bytes, "parameters"), "") << name;
  }
}

TEST(PngSuite, BadChunkCrcsAreInputErrorsNamingTheChunk) {
  const std::string ihdr = read_error("xhdn0g08");  // IHDR CRC broken
  EXPECT_NE(ihdr.find("xhdn0g08.png"), std::string::npos) << ihdr;
  EXPECT_NE(ihdr.find("CRC of its IHDR chunk"), std::string::npos) << ihdr;
  EXPECT_EQ(ihdr.find("unknown image type"), std::string::npos) << ihdr;
  const std::string idat = read_error("xcsn0g01");  // IDAT CRC broken
  EXPECT_NE(idat.find("xcsn0g01.png"), std::string::npos) << idat;
  EXPECT_NE(idat.find("CRC of its IDAT chunk"), std::string::npos) << idat;
}

TEST(PngSuite, EveryCorruptFileIsAnInputError) {
  const std::map<std::string, std::string> corrupt = {
      {"xs1n0g01", "not a PNG file"}, {"xs2n0g01", "not a PNG file"},
      {"xs4n0g01", "not a PNG file"}, {"xs7n0g01", "not a PNG file"},
      {"xcrn0g04", "not a PNG file"}, {"xlfn0g04", "not a PNG file"},
      {"xc1n0g08", "invalid color type"}, {"xc9n2c08", "invalid color type"},
      {"xd0n2c08", "invalid bit depth"}, {"xd3n2c08", "invalid bit depth"},
      {"xd9n2c08", "invalid bit depth"}, {"xdtn0g01", "not a valid PNG image"},
      {"xhdn0g08", "CRC"}, {"xcsn0g01", "CRC"}};
  for (const auto& [name, says] : corrupt) {
    const std::string message = read_error(name);
    EXPECT_NE(message.find(name + ".png"), std::string::npos) << message;
    EXPECT_NE(message.find(says), std::string::npos) << message;
    // The text reader refuses them too (or, past a good header, finds no text): never a crash.
    try {
      EXPECT_EQ(io::png_text(io::read_file(suite_file(name)), "parameters"), "") << name;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind, ErrorKind::Input) << name;
    }
  }
}
