// Tests for A1111 prompt conditioning on the fixture models against the Python reference
// (tests/text_encoders/make_prompt_references.py: A1111's rules re-implemented on transformers'
// CLIPTextModel): chunk ids, contexts of 1..3 chunks, BREAK, weights, escapes, comma backtrack,
// clip skip, textual inversion (SD 1.x and SDXL pairs), two encoders with pooled, WordPiece;
// padding to a longer branch; embedding and clip-skip errors.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>

#include "core/error.h"
#include "io/model_layout.h"
#include "io/safetensors.h"
#include "support/fixtures.h"
#include "text_encoders/conditioner.h"
#include "text_encoders/prompt_chunks.h"
#include "text_encoders/prompt_fixtures.h"
#include "tokenizers/tokenizer.h"

namespace te = pangu_draw::text_encoders;
namespace fx = pangu_draw::testing;
using pangu_draw::Error;
using pangu_draw::ErrorKind;

namespace {

using namespace pangu_draw::testing::prompts;

double rel_err(const torch::Tensor& a, const torch::Tensor& e) {
  return ((a.to(torch::kFloat) - e).abs().max() / e.abs().max()).item<double>();
}

template <typename Fn>
std::string error_of(Fn fn, ErrorKind kind) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind, kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

}  // namespace

// The chunk ids of every case and encoder equal the reference's (token for token: BOS, EOS,
// padding, comma backtrack, BREAK, embedding placeholders).
TEST(PromptConditioning, ChunkIdsEqualTheReference) {
  for (const auto& c : references()["cases"]) {
    const std::string set = c["model"];
    const auto layout = pangu_draw::io::ModelLayout::open(fx::model_dir(set));
    const auto cond = conditioner(set);
    const auto opts = options_for(c, *cond);
    const auto fragments = te::parse_prompt_attention(c["prompt"].get<std::string>());
    for (size_t e = 0; e < c["ids"].size(); ++e) {
      const auto tok = pangu_draw::tokenizers::load_tokenizer(
          layout.files(e == 0 ? "tokenizer" : "tokenizer_2"));
      std::vector<te::ChunkWord> words;
      for (size_t j = 0; j < opts.embeddings.size(); ++j) {
        words.push_back({tok->tokenize(opts.embeddings[j].name).ids,
                         opts.embeddings[j].vectors[e].size(0), static_cast<int>(j)});
      }
      const auto chunked =
          c["syntax"] == "plain"
              ? te::plain_chunk(c["prompt"].get<std::string>(), *tok)
              : te::chunk_prompt(fragments, *tok, te::chunk_rules_for(*tok), words);
      std::vector<std::vector<int64_t>> got;
      for (const auto& ch : chunked.chunks) got.push_back(ch.ids);
      auto want = c["ids"][e].get<std::vector<std::vector<int64_t>>>();
      // The reference pads an encoder with fewer chunks (two tokenizers) with empty chunks.
      while (got.size() < want.size())
        got.push_back(te::empty_chunk(te::chunk_rules_for(*tok)).ids);
      EXPECT_EQ(got, want) << c["key"] << " encoder " << e;
    }
  }
}

// Contexts [chunks * 77, C] and pooled vectors within 1e-4 of the reference's max magnitude.
TEST(PromptConditioning, ContextsEqualTheReference) {
  double worst = 0;
  int checked = 0;
  for (const auto& c : references()["cases"]) {
    const std::string key = c["key"], set = c["model"];
    const auto cond = conditioner(set);
    const auto opts = options_for(c, *cond);
    const auto out = cond->encode(c["prompt"].get<std::string>(), 64, 64, nullptr, opts);
    const auto want = reference_tensors().load(key + ".context");
    ASSERT_EQ(out.context.sizes(), want.unsqueeze(0).sizes()) << key;
    const double err = rel_err(out.context[0], want);
    EXPECT_LT(err, 1e-4) << key;
    worst = std::max(worst, err);
    if (reference_tensors().contains(key + ".pooled")) {
      const double perr = rel_err(out.pooled[0], reference_tensors().load(key + ".pooled"));
      EXPECT_LT(perr, 1e-4) << key << " pooled";
      worst = std::max(worst, perr);
    }
    ++checked;
  }
  std::cout << "[   INFO   ] " << checked << " prompt cases, worst max|a-e|/max|e| = " << worst
            << "\n";
  EXPECT_GE(checked, 25);
}

// Half-precision encoders (the weights' dtype): embedding vectors, weights and padding go through
// in that dtype; within half precision of the float32 reference.
TEST(PromptConditioning, HalfPrecisionEncodersFollowTheReference) {
  for (const std::string key : {"sd1.embedding_pos", "xl.embedding", "xl.two_chunks"}) {
    const nlohmann::json* c = nullptr;
    for (const auto& x : references()["cases"]) {
      if (x["key"] == key) c = &x;
    }
    ASSERT_TRUE(c) << key;
    const auto cond = load_patched((*c)["model"], torch::kHalf);
    const auto out =
        cond->encode((*c)["prompt"].get<std::string>(), 64, 64, nullptr, options_for(*c, *cond));
    EXPECT_EQ(out.context.scalar_type(), torch::kHalf);
    EXPECT_LT(rel_err(out.context[0], reference_tensors().load(key + ".context")), 1e-2) << key;
    const auto padded = cond->pad_to(out, out.context.size(1) + 77, {});
    EXPECT_EQ(padded.context.scalar_type(), torch::kHalf);
  }
}

// A shorter branch is padded with A1111's empty chunk (the context of ""), a zeroed one with 0.
TEST(PromptConditioning, PadToAppendsTheEmptyChunk) {
  for (const std::string set : {"sd1", "xl"}) {
    const auto cond = conditioner(set);
    const auto empty = reference_tensors().load(set + ".empty.context");  // [77, C]
    const auto neg = cond->encode("", 64, 64);
    const auto padded = cond->pad_to(neg, 231, {});
    ASSERT_EQ(padded.context.size(1), 231);
    EXPECT_LT(rel_err(padded.context[0], torch::cat({empty, empty, empty})), 1e-4) << set;
    if (neg.pooled.defined()) {
      EXPECT_TRUE(torch::equal(padded.pooled, neg.pooled));
    }
    const auto zero = cond->pad_to(neg.zeros_like(), 154, {});
    EXPECT_EQ(zero.context.size(1), 154);
    EXPECT_EQ(zero.context.abs().max().item<float>(), 0.0f);
    EXPECT_TRUE(torch::equal(cond->pad_to(neg, 77, {}).context, neg.context));
  }
}

// Plain syntax is today's behaviour: the fixture's own references (openai CLIP, truncated).
TEST(PromptConditioning, PlainSyntaxKeepsTheTruncatedSingleChunk) {
  const auto cond = te::load_conditioner(pangu_draw::io::ModelLayout::open(fx::model_dir("sd1")));
  const auto fixture = pangu_draw::io::SafetensorsFile::open(
      fx::fixtures_root() + "/sd1/reference/reference.safetensors");
  const auto prompts = fx::tokens("sd1")["prompts"];
  te::PromptOptions plain;
  plain.syntax = te::PromptSyntax::Plain;
  for (size_t p = 0; p < prompts.size(); ++p) {
    const auto want = fixture->load("context.prompt" + std::to_string(p));
    const auto got = cond->encode(prompts[p].get<std::string>(), 64, 64, nullptr, plain);
    EXPECT_LT(rel_err(got.context[0], want), 1e-4) << "prompt " << p;
    if (prompts[p].get<std::string>().find('(') == std::string::npos &&
        p != 5) {  // short, no weights
      const auto a1111 = cond->encode(prompts[p].get<std::string>(), 64, 64);
      EXPECT_TRUE(torch::equal(a1111.context, got.context)) << "prompt " << p;
    }
  }
}

TEST(PromptConditioning, ClipSkipBeyondTheEncoderIsAUsageError) {
  te::PromptOptions o;
  o.clip_skip = 5;  // the fixture encoders have 3 layers: hidden states -1 .. -4
  error_of([&] { conditioner("sd1")->encode("a cat", 64, 64, nullptr, o); }, ErrorKind::Usage);
  o.clip_skip = 4;  // the embeddings themselves, through the final norm
  EXPECT_EQ(conditioner("sd1")->encode("a cat", 64, 64, nullptr, o).context.size(1), 77);
}

TEST(PromptConditioning, EmbeddingsOfAnotherLayoutOrWidthAreInputErrors) {
  const auto sd1 = conditioner("sd1");
  const auto xl = conditioner("xl");
  const auto sd1_emb = file_bytes(kData + "/myemb.safetensors");
  const auto xl_emb = file_bytes(kData + "/xlemb.safetensors");
  auto read = [](const std::shared_ptr<const te::Conditioner>& c, const std::string& name,
                 std::shared_ptr<const std::vector<uint8_t>> bytes) {
    return c->read_embeddings({{name, std::move(bytes)}});
  };
  EXPECT_NE(error_of([&] { read(xl, "e", sd1_emb); }, ErrorKind::Input).find("clip_l"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read(sd1, "e", xl_emb); }, ErrorKind::Input).find("two text encoders"),
            std::string::npos);
  const auto pickle =
      std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>{0x80, 0x02, 0x7d, 0x71});
  EXPECT_NE(error_of([&] { read(sd1, "e", pickle); }, ErrorKind::Input).find("pickle"),
            std::string::npos);
  const auto zip =
      std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>{'P', 'K', 3, 4, 0, 0});
  EXPECT_NE(error_of([&] { read(sd1, "e", zip); }, ErrorKind::Input).find("pickle"),
            std::string::npos);
  const auto junk = std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>{1, 2, 3});
  error_of([&] { read(sd1, "e", junk); }, ErrorKind::Input);
  const auto wide = tensors_bytes({{"emb_params", torch::zeros({2, 768})}});
  EXPECT_NE(error_of([&] { read(sd1, "e", wide); }, ErrorKind::Input).find("width 768"),
            std::string::npos);
  const auto two = tensors_bytes({{"a", torch::zeros({2, 32})}, {"b", torch::zeros({2, 32})}});
  error_of([&] { read(sd1, "e", two); }, ErrorKind::Input);
  const auto uneven =
      tensors_bytes({{"clip_l", torch::zeros({2, 32})}, {"clip_g", torch::zeros({3, 64})}});
  error_of([&] { read(xl, "e", uneven); }, ErrorKind::Input);
  // A [dim] vector is one token (A1111's diffusers-concept rule).
  const auto one = read(sd1, "e", tensors_bytes({{"<concept>", torch::ones({32})}}));
  EXPECT_EQ(one[0].vectors[0].sizes(), (std::vector<int64_t>{1, 32}));
  // An embedding name that is not in a prompt changes nothing.
  te::PromptOptions o;
  o.embeddings = read(sd1, "myemb", sd1_emb);
  EXPECT_TRUE(torch::equal(sd1->encode("a (red:1.2) cat", 64, 64, nullptr, o).context,
                           sd1->encode("a (red:1.2) cat", 64, 64).context));
}
