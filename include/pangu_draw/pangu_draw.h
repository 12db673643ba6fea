// pangu_draw.h: the public API of the pangu-draw text-to-image engine (no LibTorch types).
//
// Usage:
//   pangu_draw::LoadOptions options;                  // device "auto": CUDA when present
//   auto pipe = pangu_draw::Pipeline::load("models/tiny", options);
//   pangu_draw::Request req;
//   req.prompt = "two red circles on the left";       // English or Chinese
//   req.width = req.height = 64; req.steps = 20; req.seed = 42;
//   pangu_draw::Result res = pipe.generate(req, [](int step, int steps) {
//     std::fprintf(stderr, "step %d/%d\n", step, steps); return true;  // false cancels
//   });
//   pangu_draw::write_png("out.png", res.images[0], res.parameters[0]);
//
// Errors: every function throws pangu_draw::Error; `kind` says whose fault it was and is also
// the CLI's exit code (1 usage, 2 input, 3 runtime). Nothing else escapes.
// Thread safety: a loaded Pipeline is immutable; concurrent generate() calls are safe.
// The library changes nothing process-wide by itself (threads, signals, the process image);
// hosts set what they want: set_compute_threads, set_log_callback.
// (tests/api builds the usage lines above as a program of their own and runs them.)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace pangu_draw {

/// Who has to act on an error; the value is the CLI exit code.
enum class ErrorKind { Usage = 1, Input = 2, Runtime = 3 };

/// The one exception type of the library: what was wrong and what to do about it.
struct Error : std::runtime_error {
  Error(ErrorKind k, const std::string& message) : std::runtime_error(message), kind(k) {}
  ErrorKind kind;
};

/// An 8-bit RGB image, row-major, 3 bytes per pixel.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;
};

/// A float32 tensor as plain data (row-major): initial noise in, final latents out.
struct Tensor {
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

/// How to load a model.
struct LoadOptions {
  /// compute dtype: "auto" (fp32 on the CPU; bf16 on CUDA GPUs that support it, else fp16),
  /// "fp32", "bf16" or "fp16"
  std::string dtype = "auto";
  /// "auto" (CUDA when a GPU is visible, else the CPU), "cpu", "cuda" or "cuda:N". Every tensor
  /// of a run lives there; seeds give the same noise on every device (CPU generator).
  std::string device = "auto";
  std::string config_dir;       ///< for single-file checkpoints: a diffusers folder with configs
  /// Which other models a request may name (Expert::model_path, controlnet_path,
  /// texture_model_path): the host's trust decision, never the request's. Maps a name to the
  /// file or folder to load, or throws Error{Usage} to refuse it. Empty (the default): requests
  /// name no other model (the model's own texture UNet still runs). `any_model_path` trusts
  /// every name as a path (the CLI does: its user names the files).
  std::function<std::string(const std::string& name)> resolve_model;
};

/// A LoadOptions::resolve_model that takes every name as a path, as given.
std::string any_model_path(const std::string& name);

/// A style term of PanGu-Draw's style-guided CFG: eps += scale * (eps(c_style) - eps(c)),
/// with c_style = the style's prefix + the prompt.
struct Style {
  std::string name;   ///< a style the model lists in its styles.json ("aesthetic"), or a custom
                      ///< prefix (any text that is not a plain lower-case name, e.g. "ink painting, ")
  float scale = 0.0f;
};

/// One model taking part in a run: PanGu-Draw's time-decoupled structure/texture generators
/// and Coop-Diffusion's cooperating models are lists of these (see docs/coop-diffusion.md).
struct Expert {
  std::string model_path;       ///< "" = the pipeline's own model; else a folder or single file
  float weight = 1.0f;          ///< d_i: fused eps = sum d_i eps_i / sum d_i over active experts
  float from_t = -1.0f;         ///< active for timesteps to_t <= t < from_t (-1: no upper bound)
  float to_t = -1.0f;           ///< (-1: no lower bound)
  int width = 0, height = 0;    ///< the size it works at (0: the request's size)
  float cfg_scale = -1.0f;      ///< its own guidance scale (-1: the request's)
  std::string controlnet_path;  ///< its own ControlNet (a model the host names) and control
  Image control_image;          ///< image (optional; the expert's size)
  float control_scale = 1.0f;
};

/// The bytes of a file the host read (a LoRA or an embedding .safetensors), shared so that a
/// request can be copied cheaply. The library parses them; it never opens a path for them.
using Bytes = std::shared_ptr<const std::vector<std::uint8_t>>;

/// A LoRA / LyCORIS adapter applied to the model for one request (docs/lora.md): kohya,
/// diffusers/PEFT, LoCon, LoHa and LoKr .safetensors. The weights on disk are never changed.
struct Lora {
  std::string name;     ///< what prompt tags call it: <lora:name:w> adds w to `weight`
  float weight = 1.0f;  ///< its multiplier (0 with only prompt tags naming it)
  Bytes safetensors;    ///< the file's bytes
};

/// A textual-inversion embedding (A1111's `emb_params`, SDXL's `clip_l`/`clip_g`), used by
/// writing its name in the prompt or the negative prompt. Only .safetensors: no pickle is loaded.
struct Embedding {
  std::string name;
  Bytes safetensors;
};

/// Pixels added on each side of an image (outpainting).
struct Border {
  int left = 0, top = 0, right = 0, bottom = 0;
};

/// One generation request. Defaults follow diffusers' StableDiffusionPipeline.
/// A request is data: generate() writes no file and runs no command for it; images and noise
/// come in as data (the host reads files with read_image / read_tensor below). Model references
/// (Expert::model_path, controlnet_path, texture_model_path) are names that the host's
/// LoadOptions::resolve_model turns into files or refuses; loaded once per Pipeline and kept.
struct Request {
  std::string prompt;
  std::string negative_prompt;
  /// "a1111": A1111's prompt syntax ((word:1.2), [word], BREAK, <lora:name:w> tags, prompts of
  /// any length in 75-token chunks; docs/prompts.md); "plain": the text as it is (77 tokens).
  std::string prompt_syntax = "a1111";
  int clip_skip = 0;            ///< A1111's "Clip skip": 1 = last layer, 2 = penultimate; 0 = the model's own
  std::vector<Lora> loras;      ///< adapters for this request (and those its prompt tags name)
  std::vector<Embedding> embeddings;  ///< textual-inversion embeddings its prompts may name
  int width = 0;                ///< 0: the model's native size
  int height = 0;               ///< 0: the model's native size
  int steps = 30;
  int batch_count = 1;          ///< images generated one after another, seeds seed, seed+1, ...
  std::string sampler = "euler";///< sampler_names() or an A1111 name ("DPM++ 2M SDE Karras")
  std::string schedule = "default";  ///< default, karras, exponential or sgm_uniform
  float cfg_scale = 7.5f;
  float eta = 0.0f;             ///< DDIM eta
  float dynamic_threshold = 0.0f;      ///< Imagen dynamic thresholding percentile of |x0| (0 = off)
  float dynamic_threshold_max = 1.0f;  ///< its upper bound s_max (>= 1), in units of the range:
  /// the data range R thresholding works in: values within [-R, R] are never changed. 0: the
  /// model's (1 for pixel-space models, 4 for unit-variance VAE latents)
  float dynamic_threshold_range = 0.0f;
  std::int64_t seed = -1;       ///< -1: pick one; the seed used is returned in Result
  std::string controlnet_path;  ///< optional ControlNet folder (a model the host names)
  Image control_image;          ///< its control image, the output's size
  float control_scale = 1.0f;
  /// optional initial noise, standard normal, [1, C, h, w] or [C, h, w] of the first expert's
  /// latent (diffusers' `latents=`: the seed then drives only the later random draws)
  Tensor init_noise;
  bool return_latents = false;  ///< also return each final latent in Result::latents
  /// the prompt before the host rewrote it (e.g. the CLI's --enhance-cmd); recorded in the
  /// parameters text when it differs from `prompt`
  std::string original_prompt;
  std::vector<Style> styles;    ///< style-guided CFG terms (one extra UNet branch each)
  std::vector<Expert> experts;  ///< empty: the loaded model alone (or its own plan, below)
  /// A model whose model_index.json declares a time-decoupled plan (structure UNet for t >=
  /// switch_t, texture UNet below) runs it when `experts` is empty; false: the structure UNet alone.
  bool time_decoupled = true;
  float switch_t = -1.0f;       ///< overrides the plan's hand-over timestep (-1: the model's)
  /// the hand-over as a fraction of the model's train timesteps N: T = N (1 - switch_frac);
  /// -1: unset (switch_t wins when both are set)
  float switch_frac = -1.0f;
  /// Time-decoupled sampling with another model as the texture generator: the loaded model runs
  /// the steps with t >= switch_t (default: the model's plan's switch_t, else 500), this one the
  /// steps below; replaces the model's own texture UNet. Does not combine with `experts`.
  std::string texture_model_path;
  bool naive_latent_resize = false;  ///< hand latents between sizes by resizing z_t (comparison only)
  /// Image editing (docs/editing.md), as diffusers' img2img / inpainting pipelines: the init
  /// image is encoded by the VAE, noised to the step `strength` starts at and sampled from there;
  /// the output takes its size (sides multiples of 8). Empty: text-to-image.
  Image init_image;
  float strength = 0.75f;       ///< in (0, 1]: the share of the steps re-run on the init image
  /// Inpainting mask, the init image's size: white = repaint, black = keep (binarised at 0.5).
  /// A 9-channel inpainting UNet needs one; an ordinary UNet re-imposes the kept region each step.
  Image mask_image;
  int mask_blur = 0;            ///< Gaussian blur of the mask, in pixels (0 = off)
  bool paste_back = false;      ///< paste the original pixels outside the mask into the result
  Border outpaint;              ///< pixels added on each side (multiples of 8): the new area is repainted
  /// VAE decoding in overlapping tiles of this many latent cells (bounded memory for large
  /// images; close to, not equal to, an untiled decode). -1: auto (tiles of 64 once the latent
  /// is larger than 64 x 64, i.e. above 512^2 for 8x VAEs); 0: never tile.
  int vae_tile = -1;
};

/// What a run produced.
struct Result {
  std::vector<Image> images;
  std::vector<std::int64_t> seeds;  ///< one per image
  std::vector<std::string> parameters;  ///< A1111-style "parameters" text, one per image
  std::vector<Tensor> latents;  ///< with Request::return_latents: each final latent [1, C, h, w]
                                ///< in diffusion space (before division by the VAE scaling factor)
};

/// Called after every sampler step; return false to cancel the run (throws Error{Runtime}).
using ProgressFn = std::function<bool(int step, int steps)>;

/// A loaded model. Cheap to copy (shared, immutable weights).
class Pipeline {
 public:
  /// Loads a diffusers folder or a single-file checkpoint. Throws Error{Input} naming the file.
  static Pipeline load(const std::string& model_path, const LoadOptions& options = {});
  /// Runs one request. Throws Error{Usage} for invalid requests, Error{Runtime} on failure.
  Result generate(const Request& request, const ProgressFn& on_step = {}) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

/// Writes an RGB PNG atomically (temp file + rename) with a "parameters" text chunk (tEXt when
/// the text is Latin-1, else iTXt: UTF-8).
void write_png(const std::string& path, const Image& image, const std::string& parameters,
               bool overwrite = true);

/// The PNG bytes write_png would write (in memory, for hosts that send images elsewhere).
std::string encode_png(const Image& image, const std::string& parameters);

/// Decodes PNG bytes as RGB8 (alpha dropped); Error{Input} naming `origin` when they are not a
/// valid PNG or hold more than `max_pixels` pixels.
Image decode_png(const std::string& bytes, const std::string& origin = "image",
                 std::int64_t max_pixels = std::int64_t(1) << 26);

/// Reads the text chunk `key` (tEXt, zTXt or iTXt) of a PNG file as UTF-8 ("" when absent).
std::string read_png_text(const std::string& path, const std::string& key = "parameters");

/// Reads an image file (PNG, JPEG, ...) as RGB8; Error{Input} naming the file when unreadable.
Image read_image(const std::string& path);

/// Reads the one tensor of a .safetensors file (e.g. --init-noise) as float32; Error{Input}
/// when the file holds no tensor or several.
Tensor read_tensor(const std::string& path);

/// Reads a whole file (a LoRA, an embedding) for Request::loras / embeddings; Error{Input}
/// naming the file when unreadable.
Bytes read_file(const std::string& path);

/// Writes `tensor` as the one tensor `name` of a .safetensors file (atomically).
void write_tensor(const std::string& path, const Tensor& tensor, const std::string& name = "latent");

/// Converts a MindSpore .ckpt (the PanGu-Draw 3.0 release format) into an original-layout
/// .safetensors single file that Pipeline::load reads (with LoadOptions::config_dir).
/// `cast`: "" keeps each tensor's dtype, or "F16" / "BF16" / "F32". Returns the tensor count.
std::size_t convert_mindspore_checkpoint(const std::string& ckpt_path, const std::string& out_path,
                                         const std::string& cast = "");

/// Library log level: "debug", "info" (default), "warn", "error" or "off".
void set_log_level(const std::string& level);

/// Where the library's log lines go: `sink(level, message)` with level "debug", "info", "warn"
/// or "error"; an empty function restores the default (one "[level] message" line on stderr).
void set_log_callback(std::function<void(const std::string& level, const std::string& message)> sink);

/// LibTorch's CPU compute threads, which are per process: 0 = $OMP_NUM_THREADS when set, else
/// every core. Returns the count now in use. The library never changes thread counts by itself;
/// a host that wants a count calls this (the CLI does for --threads).
int set_compute_threads(int threads);

/// "pangu-draw 0.3.0 (LibTorch 2.15.0; CUDA 13.2 compiled in; devices: cpu)".
std::string version();

/// Names accepted by Request::sampler.
std::vector<std::string> sampler_names();

/// The LoRA names that a prompt's A1111 tags (<lora:name:w>, <lyco:...>) call, each once, in
/// order: the host supplies each as a Request::loras entry (weight 0: the tags give it).
/// generate() merges a request's LoRAs into the loaded model; concurrent requests with another
/// LoRA set wait for each other (docs/lora.md).
std::vector<std::string> lora_tag_names(const std::string& prompt);

}  // namespace pangu_draw
