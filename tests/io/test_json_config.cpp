// Tests for typed config access: the messages name the file and the field.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "io/json_config.h"
#include "support/fixtures.h"

using pangu_draw::Error;
using pangu_draw::io::JsonConfig;

namespace {
JsonConfig make(const char* text) { return JsonConfig(nlohmann::json::parse(text), "unet/config.json"); }

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(JsonConfig, ReadsTypedFieldsAndFallbacks) {
  auto c = make(R"({"a": 3, "b": 1.5, "c": true, "d": "x", "e": [1, 2], "n": null})");
  EXPECT_EQ(c.get_int("a"), 3);
  EXPECT_DOUBLE_EQ(c.get_double("b"), 1.5);
  EXPECT_DOUBLE_EQ(c.get_double("a"), 3.0);
  EXPECT_TRUE(c.get_bool("c"));
  EXPECT_EQ(c.get_string("d"), "x");
  EXPECT_EQ(c.get_int_list("e"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(c.get_int("n", 7), 7);
  EXPECT_EQ(c.get_int("missing", 9), 9);
  EXPECT_EQ(c.get_int_or_list("a", 3), (std::vector<int64_t>{3, 3, 3}));
  EXPECT_EQ(c.get_int_or_list("e", 2), (std::vector<int64_t>{1, 2}));
}

TEST(JsonConfig, WrongTypeNamesFileFieldAndValue) {
  auto c = make(R"({"layers_per_block": "two"})");
  auto msg = message_of([&] { c.get_int("layers_per_block"); });
  EXPECT_NE(msg.find("unet/config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'layers_per_block' must be an integer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"two\""), std::string::npos) << msg;
}

TEST(JsonConfig, MissingRequiredFieldIsNamed) {
  auto msg = message_of([&] { make("{}").get_int_list("block_out_channels"); });
  EXPECT_NE(msg.find("'block_out_channels' is missing"), std::string::npos) << msg;
}

TEST(JsonConfig, ListLengthMismatchIsAnError) {
  auto msg = message_of([&] { make(R"({"h": [1, 2]})").get_int_or_list("h", 3); });
  EXPECT_NE(msg.find("expected 3"), std::string::npos) << msg;
}

TEST(JsonConfig, BrokenFileIsInputErrorNamingIt) {
  auto dir = pangu_draw::testing::temp_dir("json");
  std::ofstream(dir + "/config.json") << "{\"a\": ";
  auto msg = message_of([&] { JsonConfig::load(dir + "/config.json"); });
  EXPECT_NE(msg.find(dir + "/config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;
  msg = message_of([&] { JsonConfig::load(dir + "/absent.json"); });
  EXPECT_NE(msg.find("cannot open"), std::string::npos) << msg;
}
