// checker.h: a deterministic attribute checker for TinyWorld images: finds the objects and says
// which shape, colour, size, count, position, texture, style and background an image shows.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pangu_draw/pangu_draw.h"
#include "scene.h"

namespace pangu_draw::tinyworld {

// Attribute categories the checker scores, in report order.
constexpr int kCategories = 8;
extern const std::array<const char*, kCategories> kCategoryNames;  // shape, colour, ...

constexpr int kFeatureDims = 19;

struct Detection {
  int count = 0;  // objects found (0: nothing recognisable; the other fields are then defaults)
  Shape shape = Shape::Circle;
  Colour colour = Colour::Red;
  Size size = Size::Small;
  Position position = Position::Center;
  Texture texture = Texture::Plain;
  Style style = Style::Cartoon;
  Background background = Background::White;
  // Continuous measurements behind the decisions, for distribution distances (FID-style).
  std::array<double, kFeatureDims> features{};
  // Raw texture measurements (dark fraction, diagonal coherence) and outline fraction.
  double dark_fraction = 0, diagonal = 0, outline_fraction = 0;
};

// Analyses an RGB image (any size >= 16).
Detection check(const Image& image);

// Per category: does the detection match the scene? (index as kCategoryNames)
std::array<bool, kCategories> matches(const Detection& d, const Scene& truth);

nlohmann::json to_json(const Detection& d);

}  // namespace pangu_draw::tinyworld
