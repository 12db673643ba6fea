// Tests for the MindSpore .ckpt reader/converter on checkpoints written here in the protobuf
// wire format: names mapped to PyTorch's, split tensors concatenated, dtypes kept or cast.
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/mindspore_ckpt.h"
#include "support/fixtures.h"

namespace io = pangu_draw::io;

namespace {

std::string varint(uint64_t v) {
  std::string s;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    s.push_back(static_cast<char>(b | (v ? 0x80 : 0)));
  } while (v);
  return s;
}

std::string field(int number, const std::string& payload) {  // length-delimited
  return varint((uint64_t(number) << 3) | 2) + varint(payload.size()) + payload;
}

std::string raw_bytes(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

// One Value record: tag + TensorProto{dims, type, content}.
std::string value(const std::string& tag, const std::vector<int64_t>& dims, const std::string& type,
                  const std::string& content) {
  std::string proto;
  for (int64_t d : dims) proto += varint(1 << 3) + varint(static_cast<uint64_t>(d));
  proto += field(2, type) + field(3, content);
  return field(1, field(1, tag) + field(2, proto));
}

}  // namespace

TEST(MindSporeCkpt, ReadsRenamesConcatenatesAndConverts) {
  auto norm = torch::arange(4, torch::kFloat);
  auto emb = torch::randn({3, 2}).to(torch::kHalf);
  auto big = torch::arange(10, torch::kFloat).reshape({2, 5});
  const std::string big_bytes = raw_bytes(big);
  std::string file = value("model.diffusion_model.out.0.gamma", {4}, "Float32", raw_bytes(norm)) +
                     value("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.embedding_table",
                           {3, 2}, "Float16", raw_bytes(emb)) +
                     value("first_stage_model._backbone.conv.weight", {2, 5}, "Float32", big_bytes.substr(0, 12)) +
                     value("first_stage_model._backbone.conv.weight", {2, 5}, "Float32", big_bytes.substr(12));
  auto ckpt = io::MindSporeCheckpoint::from_bytes(file, "tiny.ckpt");
  ASSERT_EQ(ckpt->tensors().size(), 3u);
  EXPECT_EQ(ckpt->tensors()[2].parts.size(), 2u);
  const auto dir = pangu_draw::testing::temp_dir("ms");
  EXPECT_EQ(io::convert_mindspore_to_safetensors(*ckpt, dir + "/out.safetensors"), 3u);
  auto st = io::SafetensorsFile::open(dir + "/out.safetensors");
  EXPECT_TRUE(torch::equal(st->load("model.diffusion_model.out.0.weight"), norm));
  EXPECT_TRUE(torch::equal(
      st->load("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", torch::kHalf), emb));
  EXPECT_TRUE(torch::equal(st->load("first_stage_model.conv.weight"), big));
  EXPECT_EQ(io::convert_mindspore_to_safetensors(*ckpt, dir + "/h.safetensors", "Float16"), 3u);
  EXPECT_EQ(io::SafetensorsFile::open(dir + "/h.safetensors")->info("first_stage_model.conv.weight").dtype,
            io::DType::F16);
}

TEST(MindSporeCkpt, NameMapping) {
  EXPECT_EQ(io::torch_name_of("a.norm1.gamma"), "a.norm1.weight");
  EXPECT_EQ(io::torch_name_of("a.norm1.beta"), "a.norm1.bias");
  EXPECT_EQ(io::torch_name_of("x._backbone.emb.embedding_table"), "x.emb.weight");
  EXPECT_EQ(io::torch_name_of("a.conv.weight"), "a.conv.weight");
}

TEST(MindSporeCkpt, MalformedFilesAreInputErrorsNamingTheFile) {
  const std::string good = value("w", {2}, "Float32", raw_bytes(torch::ones({2})));
  for (const std::string& bad : {good.substr(0, good.size() - 3), std::string("\x0a\xff\xff\xff\xff\x0f", 6),
                                 value("w", {3}, "Float32", raw_bytes(torch::ones({2}))),
                                 value("w", {2}, "Complex64", raw_bytes(torch::ones({2})))}) {
    try {
      io::MindSporeCheckpoint::from_bytes(bad, "bad.ckpt");
      FAIL() << "accepted a malformed checkpoint";
    } catch (const pangu_draw::Error& e) {
      EXPECT_EQ(e.kind, pangu_draw::ErrorKind::Input);
      EXPECT_NE(std::string(e.what()).find("bad.ckpt"), std::string::npos) << e.what();
    }
  }
}
