// render.h: rasterises a TinyWorld scene to RGB (3x3 supersampled), in the flat "cartoon" style
// (black outlines) or the "soft" style (shaded, no outlines); lowres scenes at half size, upscaled.
#pragma once

#include "pangu_draw/pangu_draw.h"
#include "scene.h"

namespace pangu_draw::tinyworld {

// Geometry shared by the renderer and the checker (image widths as the unit).
constexpr double kRadiusSmall = 0.11, kRadiusLarge = 0.145, kGroupGap = 0.04;
constexpr double kAnchorX[kPositions] = {0.25, 0.75, 0.5, 0.5, 0.5};
constexpr double kAnchorY[kPositions] = {0.5, 0.5, 0.22, 0.78, 0.5};
constexpr double kTextureDark = 0.5;  // texture marks: the object's colour times this

// Base RGB of a colour / background.
void colour_rgb(Colour c, double rgb[3]);
void background_rgb(Background b, double rgb[3]);

// Object centres of a scene (x, y pairs) in image widths.
void object_centres(const Scene& s, double xs[kMaxCount], double ys[kMaxCount]);

// Renders `s` as a size x size RGB image (size >= 16).
Image render(const Scene& s, int size = 64);

// The scene's edge map, a ControlNet's control image: white (255) one-pixel outlines of the
// objects on black, size x size RGB (size >= 16). It fixes shape, size, count and position,
// not colour, texture, style or background. only_object >= 0 draws that object of the group alone
// (a part of the layout, e.g. one control image per Coop-Diffusion expert).
Image render_edges(const Scene& s, int size = 64, int only_object = -1);

}  // namespace pangu_draw::tinyworld
