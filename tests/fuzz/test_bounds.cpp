// test_bounds.cpp: resource bounds: absurd sizes in a file or a request are an Error before any
// large allocation (safetensors 10^12 elements, .ckpt dims, 100000x100000 images, huge prompts,
// JSON nesting depth), with the regressions the fuzzers found.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "api/request_validate.h"
#include "batch_items.h"
#include "fuzz/harness.h"
#include "io/json_config.h"
#include "io/mindspore_ckpt.h"
#include "io/png.h"
#include "io/safetensors.h"
#include "unet/unet_config.h"

namespace pangu_draw::fuzz {
namespace {

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// Expects an Error mentioning `needle`, raised quickly (no allocation or decoding of the claim).
template <typename F>
void expect_quick_error(F&& f, const std::string& needle) {
  const auto start = std::chrono::steady_clock::now();
  try {
    f();
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(Bounds, SafetensorsTrillionElementTensor) {
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}})";
  const std::string bytes = le64(header.size()) + header + std::string(16, '\0');
  expect_quick_error([&] { io::SafetensorsFile::from_bytes(bytes, "big.safetensors"); },
                     "big.safetensors");
}

TEST(Bounds, SafetensorsShapeProductOverflow) {
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776,16],"data_offsets":[0,0]}})";
  const std::string bytes = le64(header.size()) + header;
  expect_quick_error([&] { io::SafetensorsFile::from_bytes(bytes, "ovf.safetensors"); },
                     "ovf.safetensors");
}

// Regression: a zero dimension made byte_size 0, so [0, 2^62, 2^62] and [0, 2^63 + 1] passed the
// header check and reached torch::empty, which threw c10::Error (stride / negative size).
TEST(Bounds, SafetensorsZeroDimensionBesideHugeOnes) {
  for (const std::string shape : {"[0,4611686018427387904,4611686018427387904]",
                                  "[0,9223372036854775809]"}) {
    const std::string header =
        R"({"w":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":[0,0]}})";
    const std::string bytes = le64(header.size()) + header;
    expect_quick_error([&] { io::SafetensorsFile::from_bytes(bytes, "zero.safetensors"); },
                       "zero.safetensors");
  }
  const std::string header = R"({"w":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}})";
  const auto file = io::SafetensorsFile::from_bytes(le64(header.size()) + header, "ok");
  EXPECT_EQ(file->load("w").numel(), 0);  // a genuinely empty tensor still loads
}

TEST(Bounds, SafetensorsHugeHeaderLength) {
  const std::string bytes = le64(uint64_t(1) << 62) + "{}";
  expect_quick_error([&] { io::SafetensorsFile::from_bytes(bytes, "hdr.safetensors"); },
                     "hdr.safetensors");
}

TEST(Bounds, PngOf100000x100000IsRejectedBeforeDecoding) {
  std::string ihdr = "IHDR" + be32(100000) + be32(100000) + std::string("\x08\x02\0\0\0", 5);
  std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + ihdr +
                    be32(io::crc32(ihdr)) + be32(0) + "IEND" + be32(io::crc32("IEND"));
  const std::string path = scratch_file("huge.png", png);
  expect_quick_error([&] { io::read_image(path); }, "huge.png");  // stb or our pixel bound
}

TEST(Bounds, MindSporeTrillionElementTensor) {
  // Value{tag "w", TensorProto{dims 1000000, 1000000; type Float32; 16 bytes}}.
  auto varint = [](uint64_t v) {
    std::string s;
    for (; v >= 0x80; v >>= 7) s += static_cast<char>((v & 0x7F) | 0x80);
    return s + static_cast<char>(v);
  };
  auto field = [&](int num, const std::string& body) {
    return varint(uint64_t(num) << 3 | 2) + varint(body.size()) + body;
  };
  const std::string tensor = varint(1 << 3) + varint(1000000) + varint(1 << 3) + varint(1000000) +
                             field(2, "Float32") + field(3, std::string(16, '\0'));
  const std::string bytes = field(1, field(1, "w") + field(2, tensor));
  expect_quick_error([&] { io::MindSporeCheckpoint::from_bytes(bytes, "big.ckpt"); }, "big.ckpt");
}

TEST(Bounds, RequestOf100000x100000) {
  Request r;
  r.prompt = "a cube";
  r.width = 100000;
  r.height = 100000;
  expect_quick_error([&] { api::validate_request(r, 512, 512); }, "at most");
}

TEST(Bounds, OversizedPromptIsRejected) {
  // A 1 GB prompt fails the same size check as this one, before tokenization.
  Request r;
  r.prompt.assign(api::kMaxPromptBytes + 1, 'a');
  expect_quick_error([&] { api::validate_request(r, 512, 512); }, "limited to");
  r.prompt = "a";
  r.negative_prompt.assign(api::kMaxPromptBytes + 1, 'b');
  expect_quick_error([&] { api::validate_request(r, 512, 512); }, "limited to");
}

// Regression: nlohmann's dump() recurses per nesting level; error messages dump the offending
// value, so 100000 nested '[' in a config, a CLIP vocab or a batch line overflowed the stack.
std::string deep_array(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(Bounds, DeeplyNestedConfigJson) {
  const std::string path = scratch_file("deep.json", R"({"in_channels": )" + deep_array(100000) + "}");
  expect_quick_error([&] { io::JsonConfig::load(path); }, "nested more than");
  const std::string ok = scratch_file("ok.json", R"({"a": )" + deep_array(io::kMaxJsonDepth - 2) + "}");
  EXPECT_TRUE(io::JsonConfig::load(ok).has("a"));
}

TEST(Bounds, DeeplyNestedClipVocab) {
  const std::string bytes = R"({"a": )" + deep_array(100000) + "}" + std::string(1, '\0') + "a b\n";
  expect_quick_error([&] { parse_clip_bpe(bytes); }, "nested more than");
}

TEST(Bounds, DeeplyNestedBatchLine) {
  const auto items = cli::parse_items(R"({"prompt": "a", "x": )" + deep_array(100000) + "}\n");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_NE(items[0].error.find("nested more than"), std::string::npos) << items[0].error;
  EXPECT_FALSE(items[0].spec.dump().empty());  // the manifest writes it back: must not recurse
}

// Regression (UBSan): block_out_channels[0] * 4 overflowed int64 for a huge channel count.
TEST(Bounds, UNetChannelsAreBounded) {
  const io::JsonConfig json(nlohmann::json::parse(
                                R"({"block_out_channels": [4611686018427387904],
                                    "down_block_types": ["DownBlock2D"]})"),
                            "unet/config.json");
  expect_quick_error([&] { unet::UNetConfig::from_json(json); }, "block_out_channels");
}

// Regression (UBSan): a batch line's 1e30 seed or 1e300 style scale was converted out of range.
TEST(Bounds, BatchNumbersOutOfRange) {
  for (const char* line : {R"({"prompt": "x", "seed": 1e30})", R"({"prompt": "x", "steps": -1e19})",
                           R"({"prompt": "x", "style": ["a"], "style_scale": [1e300]})"}) {
    expect_quick_error([&] { cli::item_request(nlohmann::json::parse(line), Request{}); },
                       "out of range");
  }
  EXPECT_EQ(cli::item_request(nlohmann::json::parse(R"({"prompt": "x", "steps": 4.0})"), {}).steps, 4);
}

// Regression (fuzz_png, UBSan): stb's PNM header parser overflowed int on a long width, its JPEG
// Huffman table builder wrote out of bounds; only PNG is decoded now.
TEST(Bounds, OnlyPngIsDecoded) {
  const std::string ppm = scratch_file("x.ppm", "P6\n62162100000 1\n255\n" + std::string(16, 'x'));
  expect_quick_error([&] { io::read_image(ppm); }, "not a PNG file");
  const std::string jpg = scratch_file("x.jpg", std::string("\xff\xd8\xff\xc4\x00\xff\x11\x08", 8));
  expect_quick_error([&] { io::read_image(jpg); }, "not a PNG file");
}

// Regression (fuzz_prompts): a plain-text line with invalid UTF-8 made the manifest's dump() throw
// nlohmann::json::type_error out of `batch`.
TEST(Bounds, BatchTextLineWithInvalidUtf8) {
  const auto items = cli::parse_items("\xe0\xfa\n\nok\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_NE(items[0].error.find("UTF-8"), std::string::npos);
  EXPECT_NO_THROW((void)items[0].spec.dump());
  EXPECT_TRUE(items[1].error.empty());
}

}  // namespace
}  // namespace pangu_draw::fuzz
