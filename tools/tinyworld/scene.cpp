// scene.cpp: TinyWorld scene sampling, captions in English and Chinese, JSON ground truth.
#include "scene.h"

#include <array>

#include "core/error.h"

namespace pangu_draw::tinyworld {

namespace {

const std::array<const char*, kShapes> kShapeEn{"circle", "square", "triangle", "diamond"};
const std::array<const char*, kShapes> kShapeZh{"圆形", "正方形", "三角形", "菱形"};
const std::array<const char*, kColours> kColourEn{"red",   "orange", "yellow",
                                                  "green", "blue",   "purple"};
const std::array<const char*, kColours> kColourZh{"红色", "橙色", "黄色", "绿色", "蓝色", "紫色"};
const std::array<const char*, kBackgrounds> kBgEn{"white", "gray", "beige", "light blue"};
const std::array<const char*, kBackgrounds> kBgZh{"白色", "灰色", "米色", "浅蓝色"};
const std::array<const char*, kSizes> kSizeEn{"small", "large"};
const std::array<const char*, kSizes> kSizeZh{"小的", "大的"};
const std::array<const char*, kPositions> kPosName{"left", "right", "top", "bottom", "center"};
const std::array<const char*, kPositions> kPosEn{"on the left", "on the right", "at the top",
                                                 "at the bottom", "in the center"};
const std::array<const char*, kPositions> kPosZh{"左边", "右边", "上边", "下边", "中间"};
const std::array<const char*, kTextures> kTexEn{"plain", "striped", "dotted"};
const std::array<const char*, kTextures> kTexZh{"纯色", "条纹", "圆点"};
const std::array<const char*, kStyles> kStyleEn{"cartoon", "soft"};
const std::array<const char*, kStyles> kStyleZh{"卡通", "柔和"};
const std::array<const char*, kMaxCount> kCountEn{"one", "two", "three"};
const std::array<const char*, kMaxCount> kCountZh{"一个", "两个", "三个"};

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

template <size_t N>
int index_of(const std::array<const char*, N>& names, const std::string& v, const char* what) {
  for (size_t i = 0; i < N; ++i)
    if (v == names[i]) return static_cast<int>(i);
  PD_FAIL(Input, "tinyworld ground truth: unknown " << what << " '" << v << "'");
}

}  // namespace

uint64_t Rng::next() {
  state_ += 0x9e3779b97f4a7c15ULL;
  return mix(state_);
}

bool Scene::operator==(const Scene& o) const {
  return shape == o.shape && colour == o.colour && background == o.background && size == o.size &&
         position == o.position && texture == o.texture && style == o.style && count == o.count &&
         lowres == o.lowres && jitter_x == o.jitter_x && jitter_y == o.jitter_y;
}

const char* name(Shape v) { return kShapeEn[static_cast<int>(v)]; }
const char* name(Colour v) { return kColourEn[static_cast<int>(v)]; }
const char* name(Background v) { return kBgEn[static_cast<int>(v)]; }
const char* name(Size v) { return kSizeEn[static_cast<int>(v)]; }
const char* name(Position v) { return kPosName[static_cast<int>(v)]; }
const char* name(Texture v) { return kTexEn[static_cast<int>(v)]; }
const char* name(Style v) { return kStyleEn[static_cast<int>(v)]; }

bool is_heldout_combo(const Scene& s) {
  const uint64_t key = static_cast<uint64_t>(s.shape) * 1000 +
                       static_cast<uint64_t>(s.colour) * 100 +
                       static_cast<uint64_t>(s.position) * 10 + static_cast<uint64_t>(s.count);
  return mix(key ^ 0x7469'6e79'776f'726cULL) % 8 == 0;
}

Scene sample_scene(uint64_t seed, bool heldout, double lowres_fraction) {
  Rng rng(mix(seed) ^ 0x5eed);
  Scene s;
  s.seed = seed;
  do {
    s.shape = static_cast<Shape>(rng.below(kShapes));
    s.colour = static_cast<Colour>(rng.below(kColours));
    s.position = static_cast<Position>(rng.below(kPositions));
    s.count = 1 + rng.below(kMaxCount);
  } while (is_heldout_combo(s) != heldout);
  s.background = static_cast<Background>(rng.below(kBackgrounds));
  s.size = static_cast<Size>(rng.below(kSizes));
  s.texture = static_cast<Texture>(rng.below(kTextures));
  s.style = static_cast<Style>(rng.below(kStyles));
  s.jitter_x = rng.uniform(-0.02, 0.02);
  s.jitter_y = rng.uniform(-0.02, 0.02);
  s.lowres = !heldout && rng.uniform() < lowres_fraction;
  if (s.lowres) s.texture = Texture::Plain, s.size = Size::Large;  // structure, not detail
  return s;
}

std::string style_prefix_en(Style s) {
  return std::string(kStyleEn[static_cast<int>(s)]) + " style, ";
}
std::string style_prefix_zh(Style s) {
  return std::string(kStyleZh[static_cast<int>(s)]) + "风格，";
}

std::string caption_en(const Scene& s, bool with_style) {
  std::string shape = kShapeEn[static_cast<int>(s.shape)];
  if (s.count > 1) shape += "s";
  std::string out = with_style ? style_prefix_en(s.style) : "";
  out += std::string(kCountEn[s.count - 1]) + " " + kSizeEn[static_cast<int>(s.size)] + " " +
         kColourEn[static_cast<int>(s.colour)] + " " + kTexEn[static_cast<int>(s.texture)] + " " +
         shape + " " + kPosEn[static_cast<int>(s.position)] + ", " +
         kBgEn[static_cast<int>(s.background)] + " background";
  return out;
}

std::string caption_zh(const Scene& s, bool with_style) {
  std::string out = with_style ? style_prefix_zh(s.style) : "";
  out += std::string(kPosZh[static_cast<int>(s.position)]) + "有" + kCountZh[s.count - 1] +
         kSizeZh[static_cast<int>(s.size)] + kColourZh[static_cast<int>(s.colour)] +
         kTexZh[static_cast<int>(s.texture)] + kShapeZh[static_cast<int>(s.shape)] + "，" +
         kBgZh[static_cast<int>(s.background)] + "背景";
  return out;
}

nlohmann::json to_json(const Scene& s) {
  return {{"shape", name(s.shape)},
          {"colour", name(s.colour)},
          {"background", name(s.background)},
          {"size", name(s.size)},
          {"position", name(s.position)},
          {"texture", name(s.texture)},
          {"style", name(s.style)},
          {"count", s.count},
          {"lowres", s.lowres},
          {"jitter_x", s.jitter_x},
          {"jitter_y", s.jitter_y},
          {"seed", s.seed}};
}

Scene scene_from_json(const nlohmann::json& j) {
  Scene s;
  s.shape = static_cast<Shape>(index_of(kShapeEn, j.at("shape").get<std::string>(), "shape"));
  s.colour = static_cast<Colour>(index_of(kColourEn, j.at("colour").get<std::string>(), "colour"));
  s.background =
      static_cast<Background>(index_of(kBgEn, j.at("background").get<std::string>(), "background"));
  s.size = static_cast<Size>(index_of(kSizeEn, j.at("size").get<std::string>(), "size"));
  s.position =
      static_cast<Position>(index_of(kPosName, j.at("position").get<std::string>(), "position"));
  s.texture = static_cast<Texture>(index_of(kTexEn, j.at("texture").get<std::string>(), "texture"));
  s.style = static_cast<Style>(index_of(kStyleEn, j.at("style").get<std::string>(), "style"));
  s.count = j.at("count").get<int>();
  PD_CHECK(s.count >= 1 && s.count <= kMaxCount, Input,
           "tinyworld ground truth: count " << s.count);
  s.lowres = j.value("lowres", false);
  s.jitter_x = j.value("jitter_x", 0.0);
  s.jitter_y = j.value("jitter_y", 0.0);
  s.seed = j.value("seed", uint64_t{0});
  return s;
}

}  // namespace pangu_draw::tinyworld
