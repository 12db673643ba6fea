// edit_request.h: a public Request's editing fields (init image, strength, mask, mask blur,
// paste-back, outpainting) -> what the run engine edits (coop::EditSettings): checked, padded,
// blurred and binarised here, before any work; and the paste-back of the original pixels after.
#pragma once

#include <torch/torch.h>

#include "coop/edit_run.h"
#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::api {

// True when the request edits an image / repaints a region (a mask or an outpainting border).
bool edits(const Request& r);
bool has_mask(const Request& r);

// The canvas the run works on: the init image plus the outpainting border (0 x 0 without one).
int canvas_width(const Request& r);
int canvas_height(const Request& r);

// Error{Usage} for inconsistent editing fields: a mask / outpainting / paste-back without an
// init image, strength outside (0, 1], sides that are not multiples of 8, a mask of another size
// than the init image, --width/--height that differ from the canvas.
void validate_edit(const Request& r);

// `r` with width and height set to the canvas when it edits (the output takes its size).
Request sized_for_edit(const Request& r);

struct EditInputs {
  coop::EditSettings run;  // canvas image in [-1, 1], binarised mask, strength
  torch::Tensor alpha;     // [1, 1, H, W] in [0, 1]: the result's weight when pasting back
                           // (the blurred mask); undefined: no paste-back
};

// The tensors of a validated editing request (undefined run.image when it does not edit).
EditInputs edit_inputs(const Request& r);

// The decoded image [1, 3, H, W] in [-1, 1] with the original pixels put back where alpha < 1
// (A1111's paste-back); the image unchanged without one.
torch::Tensor paste_back(const torch::Tensor& image, const EditInputs& in);

}  // namespace pangu_draw::api
