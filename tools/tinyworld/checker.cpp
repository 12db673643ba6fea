// checker.cpp: TinyWorld attribute checker: background estimate, connected components, and
// per-attribute decisions from simple measurements (fill ratio, hue votes, dark-mark statistics).
#include "checker.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "render.h"

namespace pangu_draw::tinyworld {

const std::array<const char*, kCategories> kCategoryNames{
    "shape", "colour", "size", "count", "position", "texture", "style", "background"};

namespace {

constexpr int kMaskThreshold = 48;

struct View {
  const Image& img;
  int at(int x, int y, int c) const {
    return img.rgb[(static_cast<size_t>(y) * img.width + x) * 3 + c];
  }
  int vmax(int x, int y) const { return std::max({at(x, y, 0), at(x, y, 1), at(x, y, 2)}); }
  int vmin(int x, int y) const { return std::min({at(x, y, 0), at(x, y, 1), at(x, y, 2)}); }
  bool saturated(int x, int y) const {
    const int mx = vmax(x, y);
    return mx > 40 && (mx - vmin(x, y)) > 0.35 * mx;
  }
  bool blackish(int x, int y) const { return vmax(x, y) < 100 && vmax(x, y) - vmin(x, y) < 40; }
};

struct Component {
  std::vector<int> pixels;  // y * width + x
  int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
  double cx = 0, cy = 0;
};

std::array<int, 3> border_median(const View& v) {
  const int w = v.img.width, h = v.img.height;
  std::array<int, 3> out{};
  for (int c = 0; c < 3; ++c) {
    std::vector<int> vals;
    for (int x = 0; x < w; ++x) vals.insert(vals.end(), {v.at(x, 0, c), v.at(x, h - 1, c)});
    for (int y = 1; y + 1 < h; ++y) vals.insert(vals.end(), {v.at(0, y, c), v.at(w - 1, y, c)});
    std::nth_element(vals.begin(), vals.begin() + vals.size() / 2, vals.end());
    out[c] = vals[vals.size() / 2];
  }
  return out;
}

std::vector<uint8_t> foreground_mask(const View& v, const std::array<int, 3>& bg) {
  const int w = v.img.width, h = v.img.height;
  std::vector<uint8_t> mask(static_cast<size_t>(w) * h, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int d = 0;
      for (int c = 0; c < 3; ++c) d = std::max(d, std::abs(v.at(x, y, c) - bg[c]));
      mask[static_cast<size_t>(y) * w + x] = d > kMaskThreshold;
    }
  return mask;
}

// 4-connected components of the mask; drops specks below 0.2 % of the image and regions over
// a quarter of it (no object is that large: noise, or a wrong background estimate).
std::vector<Component> components(const std::vector<uint8_t>& mask, int w, int h) {
  std::vector<int> label(mask.size(), -1);
  std::vector<Component> out;
  const size_t min_area = std::max<size_t>(4, mask.size() / 500);
  for (size_t start = 0; start < mask.size(); ++start) {
    if (!mask[start] || label[start] >= 0) continue;
    Component comp;
    std::vector<int> stack{static_cast<int>(start)};
    label[start] = 0;
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      comp.pixels.push_back(p);
      const int x = p % w, y = p / w;
      const int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
      for (const auto& n : nb) {
        if (n[0] < 0 || n[1] < 0 || n[0] >= w || n[1] >= h) continue;
        const int q = n[1] * w + n[0];
        if (mask[q] && label[q] < 0) label[q] = 0, stack.push_back(q);
      }
    }
    if (comp.pixels.size() < min_area || comp.pixels.size() > mask.size() / 4) continue;
    for (int p : comp.pixels) {
      const int x = p % w, y = p / w;
      comp.x0 = std::min(comp.x0, x), comp.x1 = std::max(comp.x1, x);
      comp.y0 = std::min(comp.y0, y), comp.y1 = std::max(comp.y1, y);
      comp.cx += x + 0.5, comp.cy += y + 0.5;
    }
    comp.cx /= comp.pixels.size(), comp.cy /= comp.pixels.size();
    out.push_back(std::move(comp));
  }
  return out;
}

double hue_of(int r, int g, int b) {
  const int mx = std::max({r, g, b}), mn = std::min({r, g, b});
  if (mx == mn) return 0;
  double h;
  if (mx == r)
    h = 60.0 * (g - b) / (mx - mn);
  else if (mx == g)
    h = 60.0 * (2.0 + double(b - r) / (mx - mn));
  else
    h = 60.0 * (4.0 + double(r - g) / (mx - mn));
  return h < 0 ? h + 360 : h;
}

int nearest_colour(double hue) {
  static const std::array<double, kColours> hues = [] {
    std::array<double, kColours> out{};
    for (int i = 0; i < kColours; ++i) {
      double rgb[3];
      colour_rgb(static_cast<Colour>(i), rgb);
      out[i] = hue_of(int(rgb[0]), int(rgb[1]), int(rgb[2]));
    }
    return out;
  }();
  int best = 0;
  double best_d = 1e9;
  for (int i = 0; i < kColours; ++i) {
    const double d = std::min(std::fabs(hue - hues[i]), 360 - std::fabs(hue - hues[i]));
    if (d < best_d) best_d = d, best = i;
  }
  return best;
}

// Shape from fill ratio (area / bbox) and the centroid's vertical offset in the bbox.
Shape shape_of(const Component& c, double* fill, double* offset) {
  const double bw = c.x1 - c.x0 + 1, bh = c.y1 - c.y0 + 1;
  *fill = c.pixels.size() / (bw * bh);
  *offset = (c.cy - (c.y0 + bh / 2.0)) / bh;
  if (*fill > 0.87) return Shape::Square;
  if (*offset > 0.07) return Shape::Triangle;
  return *fill > 0.65 ? Shape::Circle : Shape::Diamond;
}

// Radius estimate (image widths) from the area and the shape's area per squared radius.
double radius_of(const Component& c, Shape s, int width) {
  static const double kAreaPerR2[kShapes] = {3.14159, 2.89, 1.75, 2.0};
  return std::sqrt(c.pixels.size() / kAreaPerR2[static_cast<int>(s)]) / width;
}

template <typename T>
T majority(const std::vector<T>& votes, int n) {
  std::vector<int> tally(n, 0);
  for (T v : votes) ++tally[static_cast<int>(v)];
  return static_cast<T>(std::max_element(tally.begin(), tally.end()) - tally.begin());
}

}  // namespace

namespace {

struct TextureStats {
  double dark_fraction = 0, diagonal = 0;
};

// Is (x, y) a saturated object pixel 1 px from the object's edge and from any outline pixel?
bool interior(const View& v, const std::vector<uint8_t>& mask, int x, int y) {
  const int w = v.img.width;
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx)
      if (!mask[(y + dy) * w + x + dx] || v.blackish(x + dx, y + dy)) return false;
  return v.saturated(x, y);
}

// Dark marks among saturated interior pixels: their share, and how much more often they lie
// inside a horizontal run (stripes) than inside a vertical one. Run neighbours may be any
// non-outline object pixel, so that short rows in small objects still count.
TextureStats texture_stats(const View& v, const std::vector<uint8_t>& mask) {
  const int w = v.img.width, h = v.img.height;
  std::vector<int> seen, interior_px;
  for (int y = 2; y + 2 < h; ++y)
    for (int x = 2; x + 2 < w; ++x) {
      if (!interior(v, mask, x, y)) continue;
      interior_px.push_back(y * w + x);
      seen.push_back(v.vmax(x, y));
    }
  TextureStats out;
  if (seen.size() < 8) return out;
  std::sort(seen.begin(), seen.end());
  const double cut = 0.7 * seen[seen.size() * 9 / 10];
  auto dark = [&](int x, int y) {
    return x >= 0 && y >= 0 && x < w && y < h && mask[y * w + x] && v.saturated(x, y) &&
           !v.blackish(x, y) && v.vmax(x, y) < cut;
  };
  int n_dark = 0, along = 0, across = 0;
  for (int p : interior_px) {
    const int x = p % w, y = p / w;
    if (!dark(x, y)) continue;
    ++n_dark;
    along += dark(x - 1, y) && dark(x + 1, y);
    across += dark(x, y - 1) && dark(x, y + 1);
  }
  out.dark_fraction = double(n_dark) / seen.size();
  out.diagonal = n_dark ? double(along - across) / n_dark : 0.0;
  return out;
}

Background background_of(const std::array<int, 3>& bg) {
  int best = 0;
  double best_d = 1e18;
  for (int i = 0; i < kBackgrounds; ++i) {
    double rgb[3], d = 0;
    background_rgb(static_cast<Background>(i), rgb);
    for (int c = 0; c < 3; ++c) d += (rgb[c] - bg[c]) * (rgb[c] - bg[c]);
    if (d < best_d) best_d = d, best = i;
  }
  return static_cast<Background>(best);
}

// Hue votes over saturated object pixels: the decided colour and the 6-bin histogram.
Colour colour_votes(const View& v, const std::vector<Component>& comps, double hist[kColours]) {
  std::vector<Colour> votes;
  for (const auto& c : comps)
    for (int p : c.pixels) {
      const int x = p % v.img.width, y = p / v.img.width;
      if (!v.saturated(x, y)) continue;
      votes.push_back(
          static_cast<Colour>(nearest_colour(hue_of(v.at(x, y, 0), v.at(x, y, 1), v.at(x, y, 2)))));
    }
  for (int i = 0; i < kColours; ++i) hist[i] = 0;
  for (Colour c : votes) hist[static_cast<int>(c)] += 1.0 / votes.size();
  return votes.empty() ? Colour::Red : majority(votes, kColours);
}

Position position_of(double gx, double gy) {
  int best = 0;
  double best_d = 1e18;
  for (int i = 0; i < kPositions; ++i) {
    const double d =
        (gx - kAnchorX[i]) * (gx - kAnchorX[i]) + (gy - kAnchorY[i]) * (gy - kAnchorY[i]);
    if (d < best_d) best_d = d, best = i;
  }
  return static_cast<Position>(best);
}

// Shape, size and position of the objects; fills features [0, 6).
void geometry(const std::vector<Component>& comps, int w, int h, Detection& d) {
  std::vector<Shape> shapes;
  double fill = 0, offset = 0, radius = 0, gx = 0, gy = 0;
  for (const auto& c : comps) {
    double f, o;
    shapes.push_back(shape_of(c, &f, &o));
    fill += f / comps.size(), offset += o / comps.size();
    radius += radius_of(c, shapes.back(), w) / comps.size();
    gx += c.cx / w / comps.size(), gy += c.cy / h / comps.size();
  }
  d.shape = majority(shapes, kShapes);
  d.size = radius > (kRadiusSmall + kRadiusLarge) / 2 ? Size::Large : Size::Small;
  d.position = position_of(gx, gy);
  d.features = {double(comps.size()), fill, offset, radius, gx, gy};
}

}  // namespace

Detection check(const Image& image) {
  PD_CHECK(image.width >= 16 && image.height >= 16 &&
               image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3,
           Input,
           "tinyworld checker: expected an RGB image >= 16x16, got " << image.width << "x"
                                                                     << image.height);
  const View v{image};
  const auto bg = border_median(v);
  const auto mask = foreground_mask(v, bg);
  const auto comps = components(mask, image.width, image.height);
  Detection d;
  d.background = background_of(bg);
  for (int c = 0; c < 3; ++c) d.features[16 + c] = bg[c] / 255.0;
  d.count = static_cast<int>(comps.size());
  if (comps.empty()) return d;
  geometry(comps, image.width, image.height, d);
  double hist[kColours];
  d.colour = colour_votes(v, comps, hist);
  for (int i = 0; i < kColours; ++i) d.features[6 + i] = hist[i];
  size_t area = 0, black = 0;
  for (const auto& c : comps)
    for (int p : c.pixels) area++, black += v.blackish(p % image.width, p / image.width);
  d.outline_fraction = double(black) / area;
  d.style = d.outline_fraction > 0.05 ? Style::Cartoon : Style::Soft;
  const auto tex = texture_stats(v, mask);
  d.dark_fraction = tex.dark_fraction, d.diagonal = tex.diagonal;
  d.texture = tex.dark_fraction < 0.015                        ? Texture::Plain
              : tex.diagonal > 0.25 || tex.dark_fraction > 0.3 ? Texture::Striped
                                                               : Texture::Dotted;
  d.features[12] = double(area) / mask.size();
  d.features[13] = d.outline_fraction;
  d.features[14] = tex.dark_fraction;
  d.features[15] = tex.diagonal;
  return d;
}

std::array<bool, kCategories> matches(const Detection& d, const Scene& t) {
  return {d.count > 0 && d.shape == t.shape,       d.count > 0 && d.colour == t.colour,
          d.count > 0 && d.size == t.size,         d.count == t.count,
          d.count > 0 && d.position == t.position, d.count > 0 && d.texture == t.texture,
          d.count > 0 && d.style == t.style,       d.background == t.background};
}

nlohmann::json to_json(const Detection& d) {
  nlohmann::json j = {{"count", d.count}, {"background", name(d.background)}};
  if (d.count > 0) {
    j["shape"] = name(d.shape), j["colour"] = name(d.colour), j["size"] = name(d.size);
    j["position"] = name(d.position), j["texture"] = name(d.texture), j["style"] = name(d.style);
  }
  j["features"] = d.features;
  return j;
}

}  // namespace pangu_draw::tinyworld
