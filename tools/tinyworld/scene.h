// scene.h: TinyWorld scenes (shapes, colours, sizes, positions, counts, textures, render styles)
// with seeded sampling, English/Chinese captions and a JSON ground truth of their attributes.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pangu_draw::tinyworld {

enum class Shape { Circle, Square, Triangle, Diamond };
enum class Colour { Red, Orange, Yellow, Green, Blue, Purple };
enum class Background { White, Gray, Beige, LightBlue };
enum class Size { Small, Large };
enum class Position { Left, Right, Top, Bottom, Center };
enum class Texture { Plain, Striped, Dotted };
enum class Style { Cartoon, Soft };

constexpr int kShapes = 4, kColours = 6, kBackgrounds = 4, kSizes = 2, kPositions = 5,
              kTextures = 3, kStyles = 2, kMaxCount = 3;

// Deterministic across platforms (splitmix64), unlike std::uniform_*_distribution.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

 private:
  uint64_t state_;
};

// One scene: `count` identical objects arranged as a group at `position`.
struct Scene {
  Shape shape = Shape::Circle;
  Colour colour = Colour::Red;
  Background background = Background::White;
  Size size = Size::Small;
  Position position = Position::Center;
  Texture texture = Texture::Plain;
  Style style = Style::Cartoon;
  int count = 1;
  bool lowres = false;                // rendered at 32x32 and upscaled (structure-generator data)
  double jitter_x = 0, jitter_y = 0;  // group offset, in image widths
  uint64_t seed = 0;                  // the seed the scene was drawn with

  bool operator==(const Scene& o) const;
};

// Names: English words as in captions; `name_*` also serve as JSON values.
const char* name(Shape v);
const char* name(Colour v);
const char* name(Background v);
const char* name(Size v);
const char* name(Position v);
const char* name(Texture v);
const char* name(Style v);

// Which training/evaluation split a scene's (shape, colour, position, count) combination is in:
// about one combination in eight is held out of training.
bool is_heldout_combo(const Scene& s);

// Draws a scene from `seed`; `heldout` selects the held-out combinations, else training ones.
// `lowres_fraction` of training scenes are marked lowres (never held-out ones); those are
// large and plain: as for the paper's structure generator, low resolution carries structure, not
// texture.
Scene sample_scene(uint64_t seed, bool heldout, double lowres_fraction = 0.25);

// Captions: style prefix (for style-guided CFG) + description, e.g.
// "cartoon style, two small red striped circles on the left, white background" /
// "卡通风格，左边有两个小的红色条纹圆形，白色背景".
std::string style_prefix_en(Style s);
std::string style_prefix_zh(Style s);
std::string caption_en(const Scene& s, bool with_style = true);
std::string caption_zh(const Scene& s, bool with_style = true);

// Ground truth: {"shape": "circle", "colour": "red", ..., "count": 2, "lowres": false, ...}.
nlohmann::json to_json(const Scene& s);
Scene scene_from_json(const nlohmann::json& j);

}  // namespace pangu_draw::tinyworld
