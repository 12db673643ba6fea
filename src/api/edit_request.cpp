// edit_request.cpp: the editing fields of a Request -> the run's EditSettings (outpainting
// canvas, mask to grey levels as PIL's convert("L"), Gaussian mask blur, binarisation at 0.5 as
// diffusers' mask processor), their checks, and the paste-back.
#include "api/edit_request.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "api/request_validate.h"
#include "core/error.h"

namespace pangu_draw::api {

namespace {

constexpr int kMaxMaskBlur = 256;

bool any_border(const Border& b) { return b.left || b.top || b.right || b.bottom; }

void check_image(const Image& img, const char* flag) {
  PD_CHECK(img.width > 0 && img.height > 0 &&
               img.rgb.size() == size_t(img.width) * size_t(img.height) * 3,
           Usage,
           flag << ": the image is empty or its pixels do not match its " << img.width << "x"
                << img.height << " size");
}

void check_border(int value, const char* side) {
  PD_CHECK(value >= 0 && value % 8 == 0 && value <= kMaxSide, Usage,
           "--outpaint: the " << side << " border must be a multiple of 8 between 0 and "
                              << kMaxSide << " pixels, got " << value);
}

// [1, 3, H, W] uint8 -> float in [0, 1].
torch::Tensor pixels(const Image& img) {
  auto t = torch::from_blob(const_cast<uint8_t*>(img.rgb.data()), {img.height, img.width, 3},
                            torch::kUInt8);
  return t.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat) / 255.0;
}

// PIL's convert("L") (ITU-R 601-2 luma in fixed point), then / 255: [1, 1, H, W] in [0, 1].
torch::Tensor grey(const Image& img) {
  auto t = torch::from_blob(const_cast<uint8_t*>(img.rgb.data()), {img.height, img.width, 3},
                            torch::kUInt8)
               .to(torch::kInt64);
  auto l = (t.select(2, 0) * 19595 + t.select(2, 1) * 38470 + t.select(2, 2) * 7471 + 0x8000)
               .floor_divide(65536);
  return l.to(torch::kFloat).div(255.0).unsqueeze(0).unsqueeze(0);
}

// Separable Gaussian blur with standard deviation `sigma` pixels, edges replicated.
torch::Tensor gaussian_blur(const torch::Tensor& m, double sigma) {
  const int64_t radius = static_cast<int64_t>(std::ceil(3.0 * sigma));
  auto x = torch::arange(-radius, radius + 1, torch::kFloat);
  auto k = torch::exp(-(x * x) / (2.0 * sigma * sigma));
  k = k / k.sum();
  namespace F = torch::nn::functional;
  auto padded =
      F::pad(m, F::PadFuncOptions({radius, radius, radius, radius}).mode(torch::kReplicate));
  auto rows = F::conv2d(padded, k.view({1, 1, 1, -1}));
  return F::conv2d(rows, k.view({1, 1, -1, 1}));
}

// The canvas: the image with the outpainting border, filled by repeating the edge pixels.
torch::Tensor pad_edges(const torch::Tensor& t, const Border& b) {
  if (!any_border(b)) return t;
  namespace F = torch::nn::functional;
  return F::pad(t, F::PadFuncOptions({b.left, b.right, b.top, b.bottom}).mode(torch::kReplicate));
}

// The decimal number a float was written as ("0.7"), as a double: diffusers computes
// int(steps * strength) on Python's double 0.7 (10 * 0.7 = 7.000000000000001 -> 7), which the
// float 0.7f (10 * 0.69999999 -> 6) would miss.
double written_value(float value) {
  char text[64];
  const auto end = std::to_chars(text, text + sizeof(text) - 1, value).ptr;
  *end = '\0';
  return std::strtod(text, nullptr);
}

}  // namespace

bool has_mask(const Request& r) { return !r.mask_image.rgb.empty() || any_border(r.outpaint); }

bool edits(const Request& r) { return !r.init_image.rgb.empty() || has_mask(r) || r.paste_back; }

int canvas_width(const Request& r) {
  return r.init_image.rgb.empty() ? 0 : r.init_image.width + r.outpaint.left + r.outpaint.right;
}

int canvas_height(const Request& r) {
  return r.init_image.rgb.empty() ? 0 : r.init_image.height + r.outpaint.top + r.outpaint.bottom;
}

void validate_edit(const Request& r) {
  if (!edits(r)) return;
  PD_CHECK(!r.init_image.rgb.empty(), Usage,
           (!r.mask_image.rgb.empty() ? "--mask-image"
            : any_border(r.outpaint)  ? "--outpaint"
                                      : "--paste-back")
               << " needs --init-image: the picture to repaint or extend");
  check_image(r.init_image, "--init-image");
  PD_CHECK(std::isfinite(r.strength) && r.strength > 0.0f && r.strength <= 1.0f, Usage,
           "--strength must be in (0, 1] (the share of the steps re-run on the init image), got "
               << r.strength);
  PD_CHECK(r.init_image.width % 8 == 0 && r.init_image.height % 8 == 0, Usage,
           "--init-image is " << r.init_image.width << "x" << r.init_image.height
                              << "; its sides must be multiples of 8: crop or resize it");
  check_border(r.outpaint.left, "left");
  check_border(r.outpaint.top, "top");
  check_border(r.outpaint.right, "right");
  check_border(r.outpaint.bottom, "bottom");
  const int w = canvas_width(r), h = canvas_height(r);
  PD_CHECK(w <= kMaxSide && h <= kMaxSide, Usage,
           "the canvas (init image plus --outpaint) is " << w << "x" << h << "; at most "
                                                         << kMaxSide << " on each side");
  PD_CHECK((r.width == 0 || r.width == w) && (r.height == 0 || r.height == h), Usage,
           "--width/--height " << r.width << "x" << r.height << " differ from the "
                               << (any_border(r.outpaint) ? "canvas (init image plus --outpaint), "
                                                          : "init image, ")
                               << w << "x" << h << "; leave them out (the output takes its size) "
                               << "or resize the image");
  if (!r.mask_image.rgb.empty()) {
    check_image(r.mask_image, "--mask-image");
    PD_CHECK(r.mask_image.width == r.init_image.width && r.mask_image.height == r.init_image.height,
             Usage,
             "--mask-image is " << r.mask_image.width << "x" << r.mask_image.height
                                << " but --init-image is " << r.init_image.width << "x"
                                << r.init_image.height << "; they must be the same size");
  }
  PD_CHECK(r.mask_blur >= 0 && r.mask_blur <= kMaxMaskBlur, Usage,
           "--mask-blur must be between 0 and " << kMaxMaskBlur << " pixels, got " << r.mask_blur);
  PD_CHECK(
      !r.paste_back || has_mask(r), Usage,
      "--paste-back needs a mask (--mask-image or --outpaint): it keeps the pixels outside it");
}

Request sized_for_edit(const Request& r) {
  if (r.init_image.rgb.empty()) return r;
  Request sized = r;
  sized.width = canvas_width(r);
  sized.height = canvas_height(r);
  return sized;
}

EditInputs edit_inputs(const Request& r) {
  EditInputs in;
  if (r.init_image.rgb.empty()) return in;
  torch::NoGradGuard no_grad;
  in.run.image = pad_edges(pixels(r.init_image), r.outpaint) * 2.0 - 1.0;
  in.run.strength = written_value(r.strength);
  if (!has_mask(r)) return in;
  auto mask = r.mask_image.rgb.empty()
                  ? torch::zeros({1, 1, r.init_image.height, r.init_image.width})
                  : grey(r.mask_image);
  const Border& b = r.outpaint;
  if (any_border(b)) {  // the new area is repainted
    namespace F = torch::nn::functional;
    mask = F::pad(mask, F::PadFuncOptions({b.left, b.right, b.top, b.bottom}).value(1.0));
  }
  if (r.mask_blur > 0) mask = gaussian_blur(mask, r.mask_blur);
  in.run.mask = (mask >= 0.5).to(torch::kFloat);  // diffusers' do_binarize
  if (r.paste_back) in.alpha = r.mask_blur > 0 ? mask.clamp(0.0, 1.0) : in.run.mask;
  return in;
}

torch::Tensor paste_back(const torch::Tensor& image, const EditInputs& in) {
  if (!in.alpha.defined()) return image;
  auto alpha = in.alpha.to(image.device(), image.dtype());
  return alpha * image + (1.0 - alpha) * in.run.image.to(image.device(), image.dtype());
}

}  // namespace pangu_draw::api
