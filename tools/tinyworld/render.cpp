// render.cpp: the TinyWorld rasteriser: shape coverage, outlines, textures and shading.
#include "render.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace pangu_draw::tinyworld {

namespace {

// Is (dx, dy), in units of the object's radius, inside the shape?
bool inside(Shape shape, double dx, double dy) {
  switch (shape) {
    case Shape::Circle:
      return dx * dx + dy * dy <= 1.0;
    case Shape::Square:
      return std::fabs(dx) <= 0.85 && std::fabs(dy) <= 0.85;
    case Shape::Triangle:
      return dy <= 0.8 && std::fabs(dx) <= (dy + 0.95) / 1.75;
    case Shape::Diamond:
      return std::fabs(dx) + std::fabs(dy) <= 1.0;
  }
  return false;
}

double frac(double v) { return v - std::floor(v); }

// Is the texture's dark mark at image point (u, v)? `period` in image widths.
bool texture_mark(Texture t, double u, double v, double period) {
  if (t == Texture::Striped) return frac(v / period) < 0.5;
  if (t == Texture::Dotted) {
    const double a = frac(u / period) - 0.5, b = frac(v / period) - 0.5;
    return a * a + b * b <= 0.24 * 0.24;
  }
  return false;
}

struct Renderer {
  const Scene& s;
  int res, sub;  // resolution, subsamples per pixel side
  double xs[kMaxCount], ys[kMaxCount], r, outline, period, base[3], bg[3];

  Renderer(const Scene& scene, int resolution, int subsamples)
      : s(scene), res(resolution), sub(subsamples) {
    object_centres(s, xs, ys);
    r = s.size == Size::Small ? kRadiusSmall : kRadiusLarge;
    outline = 1.7 / res;
    period = 6.0 / res;
    colour_rgb(s.colour, base);
    background_rgb(s.background, bg);
  }

  // Colour of one sample point (u, v) in image widths, in the pixel centred at (pu, pv): the
  // outline/fill boundary is decided per pixel, so no fill pixel is blended with the outline.
  void sample(double u, double v, double pu, double pv, double out[3]) const {
    for (int i = 0; i < s.count; ++i) {
      const double dx = (u - xs[i]) / r, dy = (v - ys[i]) / r;
      if (!inside(s.shape, dx, dy)) continue;
      const double inner = 1.0 - outline / r, px = (pu - xs[i]) / r, py = (pv - ys[i]) / r;
      if (s.style == Style::Cartoon && !inside(s.shape, px / inner, py / inner)) {
        out[0] = out[1] = out[2] = 25.0;
        return;
      }
      double f = texture_mark(s.texture, u, v, period) ? kTextureDark : 1.0;
      if (s.style == Style::Soft)
        f *= 1.0 - 0.18 * std::clamp((dx * 0.6 + dy * 0.8 + 1) / 2, 0.0, 1.0);
      for (int c = 0; c < 3; ++c) out[c] = base[c] * f;
      return;
    }
    const double shade = s.style == Style::Soft ? 6.0 * (0.5 - v) : 0.0;
    for (int c = 0; c < 3; ++c) out[c] = bg[c] + shade;
  }

  Image draw() const {
    Image img;
    img.width = img.height = res;
    img.rgb.resize(static_cast<size_t>(res) * res * 3);
    for (int y = 0; y < res; ++y)
      for (int x = 0; x < res; ++x) {
        double acc[3] = {0, 0, 0}, c[3];
        for (int sy = 0; sy < sub; ++sy)
          for (int sx = 0; sx < sub; ++sx) {
            sample((x + (sx + 0.5) / sub) / res, (y + (sy + 0.5) / sub) / res, (x + 0.5) / res,
                   (y + 0.5) / res, c);
            for (int k = 0; k < 3; ++k) acc[k] += c[k];
          }
        for (int k = 0; k < 3; ++k)
          img.rgb[(static_cast<size_t>(y) * res + x) * 3 + k] =
              static_cast<uint8_t>(std::clamp(std::lround(acc[k] / (sub * sub)), 0L, 255L));
      }
    return img;
  }
};

Image upscale_nearest(const Image& in, int size) {
  Image out;
  out.width = out.height = size;
  out.rgb.resize(static_cast<size_t>(size) * size * 3);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const size_t src =
          (static_cast<size_t>(y * in.height / size) * in.width + x * in.width / size) * 3;
      for (int k = 0; k < 3; ++k)
        out.rgb[(static_cast<size_t>(y) * size + x) * 3 + k] = in.rgb[src + k];
    }
  return out;
}

}  // namespace

void colour_rgb(Colour c, double rgb[3]) {
  static const double kRgb[kColours][3] = {{220, 40, 40}, {245, 130, 20}, {240, 220, 20},
                                           {40, 170, 60}, {40, 80, 220},  {140, 50, 190}};
  for (int k = 0; k < 3; ++k) rgb[k] = kRgb[static_cast<int>(c)][k];
}

void background_rgb(Background b, double rgb[3]) {
  static const double kRgb[kBackgrounds][3] = {
      {250, 250, 250}, {190, 190, 190}, {235, 222, 195}, {190, 215, 240}};
  for (int k = 0; k < 3; ++k) rgb[k] = kRgb[static_cast<int>(b)][k];
}

void object_centres(const Scene& s, double xs[kMaxCount], double ys[kMaxCount]) {
  const double r = s.size == Size::Small ? kRadiusSmall : kRadiusLarge;
  const int p = static_cast<int>(s.position);
  const bool vertical = s.position == Position::Left || s.position == Position::Right;
  for (int i = 0; i < s.count; ++i) {
    const double offset = (i - (s.count - 1) / 2.0) * (2 * r + kGroupGap);
    xs[i] = kAnchorX[p] + s.jitter_x + (vertical ? 0.0 : offset);
    ys[i] = kAnchorY[p] + s.jitter_y + (vertical ? offset : 0.0);
  }
}

Image render(const Scene& s, int size) {
  PD_CHECK(size >= 16, Usage, "tinyworld: image size must be >= 16, got " << size);
  if (!s.lowres) return Renderer(s, size, 3).draw();
  return upscale_nearest(Renderer(s, size / 2, 1).draw(), size);  // hard pixels, no blending
}

Image render_edges(const Scene& s, int size, int only_object) {
  PD_CHECK(size >= 16, Usage, "tinyworld: image size must be >= 16, got " << size);
  PD_CHECK(only_object < s.count, Usage,
           "tinyworld: object " << only_object << " of a group of " << s.count << " objects");
  double xs[kMaxCount], ys[kMaxCount];
  object_centres(s, xs, ys);
  const double r = s.size == Size::Small ? kRadiusSmall : kRadiusLarge;
  std::vector<uint8_t> mask(static_cast<size_t>(size) * size, 0);  // object at the pixel centre
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      for (int i = 0; i < s.count; ++i)
        if ((only_object < 0 || i == only_object) &&
            inside(s.shape, ((x + 0.5) / size - xs[i]) / r, ((y + 0.5) / size - ys[i]) / r))
          mask[static_cast<size_t>(y) * size + x] = 1;
  auto at = [&](int x, int y) {
    return x < 0 || y < 0 || x >= size || y >= size ? 0 : mask[static_cast<size_t>(y) * size + x];
  };
  Image img;
  img.width = img.height = size;
  img.rgb.assign(static_cast<size_t>(size) * size * 3, 0);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const bool edge = at(x, y) && (!at(x - 1, y) || !at(x + 1, y) || !at(x, y - 1) || !at(x, y + 1));
      if (edge)
        for (int k = 0; k < 3; ++k) img.rgb[(static_cast<size_t>(y) * size + x) * 3 + k] = 255;
    }
  return img;
}

}  // namespace pangu_draw::tinyworld
