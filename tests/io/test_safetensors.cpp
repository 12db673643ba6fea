// Tests for the safetensors reader/writer: round trips, dtype conversion, and every header
// defect the reader promises to reject with a message naming the file.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "io/safetensors.h"
#include "support/fixtures.h"

using pangu_draw::Error;
using pangu_draw::ErrorKind;
using pangu_draw::io::SafetensorsFile;

namespace {

std::string with_header(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

// Expects from_bytes to throw an Input error whose message contains `needle`.
void expect_rejected(const std::string& bytes, const std::string& needle) {
  try {
    SafetensorsFile::from_bytes(bytes, "bad.safetensors");
    FAIL() << "accepted a malformed file; expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind, ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Safetensors, RoundTripKeepsValuesAndConvertsDtypes) {
  auto a = torch::arange(12, torch::kFloat).reshape({3, 4}) / 7.0;
  auto h = a.to(torch::kHalf);
  auto b = a.to(torch::kBFloat16);
  auto i = torch::arange(5, torch::kLong);
  auto bytes = pangu_draw::io::safetensors_bytes({{"a", a}, {"h", h}, {"b", b}, {"i", i}},
                                                 {{"format", "pt"}});
  auto f = SafetensorsFile::from_bytes(bytes, "mem");
  EXPECT_EQ(f->names().size(), 4u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_TRUE(torch::equal(f->load("a"), a));
  EXPECT_TRUE(torch::equal(f->load("h", torch::kHalf), h));
  EXPECT_TRUE(torch::equal(f->load("h"), h.to(torch::kFloat)));
  EXPECT_TRUE(torch::equal(f->load("b"), b.to(torch::kFloat)));
  EXPECT_TRUE(torch::equal(f->load("i", torch::kLong), i));
  EXPECT_EQ(f->info("a").shape, (std::vector<int64_t>{3, 4}));
}

TEST(Safetensors, SaveIsAtomicAndRespectsOverwrite) {
  auto dir = pangu_draw::testing::temp_dir("st");
  auto path = dir + "/x.safetensors";
  pangu_draw::io::save_safetensors(path, {{"x", torch::ones({2})}});
  auto f = SafetensorsFile::open(path);
  EXPECT_TRUE(torch::equal(f->load("x"), torch::ones({2})));
  EXPECT_THROW(pangu_draw::io::save_safetensors(path, {{"x", torch::ones({2})}}, {}, false), Error);
}

TEST(Safetensors, RejectsTooShortFile) { expect_rejected("abc", "too short"); }

TEST(Safetensors, RejectsHeaderLongerThanFile) {
  std::string bytes = with_header("{}", "");
  bytes[0] = static_cast<char>(200);
  expect_rejected(bytes, "header claims");
}

TEST(Safetensors, RejectsInvalidJson) { expect_rejected(with_header("{not json", ""), "JSON"); }

TEST(Safetensors, RejectsOffsetsOutsideData) {
  expect_rejected(
      with_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, 0)),
      "outside");
}

TEST(Safetensors, RejectsShapeByteMismatch) {
  expect_rejected(
      with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", std::string(16, 0)),
      "bytes stored");
}

TEST(Safetensors, RejectsOverlappingTensors) {
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                              std::string(12, 0)),
                  "overlap");
}

TEST(Safetensors, RejectsUnknownDtype) {
  expect_rejected(
      with_header(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", std::string(2, 0)),
      "unsupported dtype");
}

TEST(Safetensors, RejectsHugeClaimBeforeAllocating) {
  // 10^12 elements: rejected from the header alone, no allocation is attempted.
  expect_rejected(with_header(R"({"w":{"dtype":"F32","shape":[1000000,1000000],)"
                              R"("data_offsets":[0,4000000000000]}})",
                              std::string(8, 0)),
                  "outside");
}

TEST(Safetensors, RejectsNegativeShape) {
  expect_rejected(
      with_header(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", ""), "negative");
}

TEST(Safetensors, UnknownTensorNameIsInputError) {
  auto f = SafetensorsFile::from_bytes(pangu_draw::io::safetensors_bytes({{"a", torch::ones({1})}}),
                                       "mem");
  EXPECT_THROW(f->load("nope"), Error);
}

TEST(Safetensors, TruncatedFixtureFileIsRejected) {
  auto src = pangu_draw::testing::fixtures_root() + "/sd1/model/vae/diffusion_pytorch_model.safetensors";
  std::ifstream in(src, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  bytes.resize(bytes.size() - 100);
  expect_rejected(bytes, "truncated");
}
