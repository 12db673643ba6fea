// train_main.cpp: `pangu-draw-train`: `vae` trains an AutoencoderKL on TinyWorld images; `unet`
// trains a UNet from random init with a base model's frozen text encoders (and a trained VAE),
// writing a diffusers folder that Pipeline::load reads; `tokenizer` and `text-encoder` train the
// bilingual SentencePiece tokenizer and text encoder that replace the base model's encoders.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>

#include "core/error.h"
#include "checker.h"
#include "core/runtime.h"
#include "io/safetensors.h"
#include "controlnet_trainer.h"
#include "text_encoder_trainer.h"
#include "trainer.h"
#include "vae_trainer.h"

namespace {

// Number checks with plain messages ("--batch: must be > 0, got 0"); CLI11's own print their
// range up to DBL_MAX.
CLI::Validator number_check(const char* what, bool (*ok)(double)) {
  return CLI::Validator(
      [what, ok](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end != text.c_str() && *end == '\0' && ok(v)) return {};
        return std::string("must be ") + what + ", got " + text;
      },
      what);
}
const CLI::Validator kPositive = number_check("> 0", [](double v) { return v > 0; });
const CLI::Validator kNonNegative = number_check(">= 0", [](double v) { return v >= 0; });
const CLI::Validator kShare = number_check("in [0, 1]", [](double v) {
  return v >= 0 && v <= 1;
});

struct Loop {
  int steps = 1000, log_every = 20, save_every = 0, threads = 0;
  double max_minutes = 0;
  bool keep_checkpoints = false;  // checkpoints go to OUT-stepN instead of overwriting OUT
};

// Runs `step` until `steps` or the time budget; logs and checkpoints with `save(dir)` into
// `out` (or `out-stepN` with keep_checkpoints; the final save always goes to `out`).
void run_loop(const Loop& l, const std::string& out, const std::function<double()>& step,
              const std::function<void(const std::string&)>& save) {
  const auto start = std::chrono::steady_clock::now();
  double ema = 0;
  for (int s = 1; s <= l.steps; ++s) {
    const double loss = step();
    ema = s == 1 ? loss : 0.95 * ema + 0.05 * loss;
    const double minutes =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
    if (s % l.log_every == 0)
      std::fprintf(stderr, "step %d loss %.5f (ema %.5f) %.1f min\n", s, loss, ema, minutes);
    if (l.save_every > 0 && s % l.save_every == 0)
      save(l.keep_checkpoints ? out + "-step" + std::to_string(s) : out);
    if (l.max_minutes > 0 && minutes >= l.max_minutes) {
      std::fprintf(stderr, "time budget reached after %d steps\n", s);
      break;
    }
  }
  save(out);
}

void add_loop_options(CLI::App* cmd, Loop& l) {
  cmd->add_option("--steps", l.steps, "Optimisation steps")->check(kPositive);
  cmd->add_option("--max-minutes", l.max_minutes, "Stop after this wall time (0: no limit)")
      ->check(kNonNegative);
  cmd->add_option("--save-every", l.save_every, "Checkpoint every N steps (0: only at the end)")
      ->check(kNonNegative);
  cmd->add_flag("--keep-checkpoints", l.keep_checkpoints,
                "Write each checkpoint to OUT-stepN instead of overwriting OUT");
  cmd->add_option("--log-every", l.log_every, "Log every N steps")->check(kPositive);
  cmd->add_option("--threads", l.threads, "Threads (0: $OMP_NUM_THREADS if set, else all cores)")
      ->check(kNonNegative);
}

CLI::App* add_unet_command(CLI::App& app, pangu_draw::train::TrainConfig& u, Loop& l,
                           std::string& out) {
  auto* cmd = app.add_subcommand("unet", "Train the UNet; writes a whole model folder");
  cmd->add_option("--base", u.base_model, "Base diffusers folder (text encoders, tokenizers, VAE)")
      ->required();
  cmd->add_option("--unet-config", u.unet_config, "UNet config.json (default: the base's)");
  cmd->add_option("--vae", u.vae_dir, "A trained vae/ folder (default: the base's)");
  cmd->add_option("-o,--out", out, "Output model folder")->required();
  cmd->add_option("--batch", u.batch, "Batch size")->check(kPositive);
  cmd->add_option("--lr", u.lr, "AdamW learning rate")->check(kPositive);
  cmd->add_option("--size", u.size, "Image size")->check(kPositive);
  cmd->add_option("--cond-size", u.cond_size,
                  "Size told to the size conditioning (0: --size; a texture generator trained "
                  "below its sampling size is told that size)")->check(kNonNegative);
  cmd->add_option("--seed", u.seed, "Seed (data and init)");
  cmd->add_option("--caption-dropout", u.caption_dropout, "Share of empty prompts (for CFG)")
      ->check(kShare);
  cmd->add_option("--zh-fraction", u.zh_fraction, "Share of Chinese captions")
      ->check(kShare);
  cmd->add_option("--lowres-fraction", u.lowres_fraction, "Share of half-size scenes")
      ->check(kShare);
  cmd->add_option("--t-min", u.t_min, "Train timesteps t >= this (texture generator: 0)");
  cmd->add_option("--t-max", u.t_max,
                  "Train timesteps t < this (-1: all; structure generator: 1000)");
  cmd->add_flag("--save-f16", u.save_f16, "Write the UNet weights as F16");
  cmd->add_option("--init", u.init_dir, "Continue from this unet/ folder's weights");
  cmd->add_option("--ema", u.ema_decay,
                  "Keep an exponential moving average of the weights with this decay (e.g. 0.999) "
                  "and save it instead of the last weights (0: off)")->check(kShare);
  add_loop_options(cmd, l);
  return cmd;
}

CLI::App* add_vae_command(CLI::App& app, pangu_draw::train::VaeTrainConfig& v, Loop& l,
                          std::string& out) {
  auto* cmd = app.add_subcommand("vae", "Train an AutoencoderKL; writes a vae/ folder");
  cmd->add_option("--config", v.vae_config, "AutoencoderKL config.json")->required();
  cmd->add_option("-o,--out", out, "Output vae/ folder")->required();
  cmd->add_option("--batch", v.batch, "Batch size")->check(kPositive);
  cmd->add_option("--lr", v.lr, "AdamW learning rate")->check(kPositive);
  cmd->add_option("--kl-weight", v.kl_weight, "Weight of the KL term")
      ->check(kNonNegative);
  cmd->add_option("--init", v.init_dir, "Continue from this vae/ folder's weights");
  cmd->add_option("--size", v.size, "Image size")->check(kPositive);
  cmd->add_option("--seed", v.seed, "Seed (data and init)");
  add_loop_options(cmd, l);
  return cmd;
}

// A trainer's config, its loop, the output folder and whether to save F16 weights.
template <typename Config>
struct Job {
  Config config;
  Loop loop;
  std::string out;
  bool f16 = false;
};
using TextEncoderJob = Job<pangu_draw::train::TextEncoderTrainConfig>;
using ControlNetJob = Job<pangu_draw::train::ControlNetTrainConfig>;

CLI::App* add_text_encoder_command(CLI::App& app, TextEncoderJob& j) {
  auto* cmd = app.add_subcommand(
      "text-encoder", "Distil a teacher model's conditioning into a bilingual encoder (both "
                      "languages -> the English caption's conditioning); writes a text_encoder/ folder");
  cmd->add_option("--teacher", j.config.teacher_model, "Model whose text encoders are imitated")
      ->required();
  cmd->add_option("--tokenizer", j.config.tokenizer_dir, "The student's tokenizer folder")->required();
  cmd->add_option("--config", j.config.encoder_config, "The student's config.json")->required();
  cmd->add_option("-o,--out", j.out, "Output text_encoder/ folder")->required();
  cmd->add_option("--batch", j.config.batch, "Captions per step")->check(kPositive);
  cmd->add_option("--lr", j.config.lr, "AdamW learning rate (cosine decay to 10 % over --steps)")
      ->check(kPositive);
  cmd->add_option("--zh-fraction", j.config.zh_fraction, "Share of Chinese captions")
      ->check(kShare);
  cmd->add_option("--seed", j.config.seed, "Seed (data and init)");
  cmd->add_flag("--save-f16", j.f16, "Write the weights as F16");
  add_loop_options(cmd, j.loop);
  return cmd;
}

struct TokenizerJob {
  std::string out;
  int vocab = 256, sentences = 20000;
  uint64_t seed = 0;
};

CLI::App* add_tokenizer_command(CLI::App& app, TokenizerJob& j) {
  auto* cmd = app.add_subcommand(
      "tokenizer", "Train a SentencePiece tokenizer on English + Chinese TinyWorld captions");
  cmd->add_option("-o,--out", j.out, "Output tokenizer/ folder")->required();
  cmd->add_option("--vocab-size", j.vocab, "Pieces (an upper bound: fewer when the captions "
                                           "need fewer)")->check(kPositive);
  cmd->add_option("--sentences", j.sentences, "Training scenes (two captions each)")
      ->check(kPositive);
  cmd->add_option("--seed", j.seed, "Seed");
  return cmd;
}

void print_eval(const pangu_draw::train::TextEncoderEval& e) {
  std::fprintf(stderr,
               "held-out relative error: context en %.4f zh %.4f, pooled en %.4f zh %.4f, "
               "empty prompt %.4f\n",
               e.context_en, e.context_zh, e.pooled_en, e.pooled_zh, e.empty);
}

void train_text_encoder(TextEncoderJob& j) {
  pangu_draw::core::configure_threads(j.loop.threads);
  j.config.total_steps = j.loop.steps;
  pangu_draw::train::TextEncoderTrainer t(j.config);
  std::fprintf(stderr, "text encoder parameters %lld\n", static_cast<long long>(t.parameter_count()));
  print_eval(t.evaluate(0xe7a1, 64));
  run_loop(
      j.loop, j.out, [&] { return t.step(); }, [&](const std::string& dir) { t.save(dir, j.f16); });
  print_eval(t.evaluate(0xe7a1, 64));
  std::fprintf(stderr, "wrote %s\n", j.out.c_str());
}

CLI::App* add_controlnet_command(CLI::App& app, ControlNetJob& j) {
  auto* cmd = app.add_subcommand(
      "controlnet", "Train an edge-map ControlNet for a model (both generators of its plan); "
                    "writes a controlnet folder");
  cmd->add_option("--model", j.config.model, "The model whose UNets it guides")->required();
  cmd->add_option("-o,--out", j.out, "Output controlnet folder")->required();
  cmd->add_option("--batch", j.config.batch, "Batch size")->check(kPositive);
  cmd->add_option("--lr", j.config.lr, "AdamW learning rate")->check(kPositive);
  cmd->add_option("--caption-dropout", j.config.caption_dropout, "Share of empty prompts")
      ->check(kShare);
  cmd->add_option("--init", j.config.init_dir, "Continue from this controlnet folder's weights");
  cmd->add_option("--seed", j.config.seed, "Seed (data and init)");
  cmd->add_flag("--save-f16", j.f16, "Write the weights as F16");
  add_loop_options(cmd, j.loop);
  return cmd;
}

void train_controlnet(const ControlNetJob& j) {
  pangu_draw::core::configure_threads(j.loop.threads);
  pangu_draw::train::ControlNetTrainer t(j.config);
  auto report = [&](const char* when) {
    std::fprintf(stderr, "%s: held-out loss with edges %.5f, UNets alone %.5f\n", when,
                 t.eval_loss(0xe7a1, 16, true), t.eval_loss(0xe7a1, 16, false));
  };
  std::fprintf(stderr, "controlnet parameters %lld\n", static_cast<long long>(t.parameter_count()));
  report("before");
  run_loop(
      j.loop, j.out, [&] { return t.step(); }, [&](const std::string& dir) { t.save(dir, j.f16); });
  report("after");
  std::fprintf(stderr, "wrote %s\n", j.out.c_str());
}

void train_unet(const pangu_draw::train::TrainConfig& u, const Loop& l, const std::string& out) {
  pangu_draw::core::configure_threads(l.threads);
  pangu_draw::train::Trainer t(u);
  std::fprintf(stderr, "unet parameters %lld, eval loss %.5f\n",
               static_cast<long long>(t.parameter_count()), t.eval_loss(0xe7a1, 16));
  run_loop(
      l, out, [&] { return t.step(); }, [&](const std::string& dir) { t.save(dir); });
  std::fprintf(stderr, "eval loss %.5f; wrote %s\n", t.eval_loss(0xe7a1, 16), out.c_str());
}

void train_vae(const pangu_draw::train::VaeTrainConfig& v, const Loop& l, const std::string& out) {
  pangu_draw::core::configure_threads(l.threads);
  pangu_draw::train::VaeTrainer t(v);
  std::fprintf(stderr, "eval reconstruction mse %.5f\n", t.eval_loss(0xe7a1, 16));
  run_loop(
      l, out, [&] { return t.step(); }, [&](const std::string& dir) { t.save(dir); });
  std::fprintf(stderr, "eval reconstruction mse %.5f; wrote %s\n", t.eval_loss(0xe7a1, 16),
               out.c_str());
}

// Rewrites every .safetensors file under `dir` with its F32 tensors stored as F16 (shipping).
void cast_to_f16(const std::string& dir) {
  namespace io = pangu_draw::io;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().extension() != ".safetensors") continue;
    io::NamedTensors tensors;
    std::map<std::string, std::string> metadata;
    {
      const auto file = io::SafetensorsFile::open(entry.path().string());
      metadata = file->metadata();
      for (const auto& name : file->names()) {
        const io::DType d = file->info(name).dtype;
        const auto kept = d == io::DType::I64 ? torch::kLong
                          : d == io::DType::BF16 ? torch::kBFloat16 : torch::kHalf;
        tensors.emplace_back(name, file->load(name, kept));  // F32 and F16 -> F16
      }
    }
    io::save_safetensors(entry.path().string(), tensors, metadata);
    std::printf("%s: %zu tensors\n", entry.path().c_str(), tensors.size());
  }
}

void check_vae(const std::string& dir, int n, int size) {
  pangu_draw::core::configure_threads(0);
  const auto s = pangu_draw::train::vae_round_trip_score(dir, n, size);
  std::printf("round trip of %d held-out scenes: mse %.5f\n", n, s.mse);
  for (int c = 0; c < pangu_draw::tinyworld::kCategories; ++c)
    std::printf("  %-10s %.3f\n", pangu_draw::tinyworld::kCategoryNames[c], s.accuracy[c]);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pangu-draw-train: train a tiny PanGu-Draw on TinyWorld scenes (EN + ZH captions)"};
  app.require_subcommand(1);
  pangu_draw::train::TrainConfig u;
  pangu_draw::train::VaeTrainConfig v;
  Loop ul, vl;
  std::string out;
  auto* unet_cmd = add_unet_command(app, u, ul, out);
  auto* vae_cmd = add_vae_command(app, v, vl, out);
  std::string check_dir;
  int check_n = 200;
  auto* check_cmd = app.add_subcommand("vae-check", "Score a trained VAE's round trip with the checker");
  check_cmd->add_option("vae", check_dir, "vae/ folder")->required();
  check_cmd->add_option("-n", check_n, "Held-out scenes")->check(kPositive);
  check_cmd->add_option("--size", v.size, "Image size")->check(kPositive);
  ControlNetJob cn;
  auto* cn_cmd = add_controlnet_command(app, cn);
  TextEncoderJob te;
  auto* te_cmd = add_text_encoder_command(app, te);
  TokenizerJob tok;
  auto* tok_cmd = add_tokenizer_command(app, tok);
  std::string cast_dir;
  auto* cast_cmd = app.add_subcommand("cast-f16", "Store a model folder's F32 weights as F16");
  cast_cmd->add_option("dir", cast_dir, "Model folder")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  try {
    if (unet_cmd->parsed()) train_unet(u, ul, out);
    if (vae_cmd->parsed()) train_vae(v, vl, out);
    if (check_cmd->parsed()) check_vae(check_dir, check_n, v.size);
    if (cast_cmd->parsed()) cast_to_f16(cast_dir);
    if (te_cmd->parsed()) train_text_encoder(te);
    if (cn_cmd->parsed()) train_controlnet(cn);
    if (tok_cmd->parsed())
      pangu_draw::train::train_caption_tokenizer(tok.out, tok.vocab, tok.sentences, tok.seed);
    return 0;
  } catch (const pangu_draw::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return static_cast<int>(e.kind);
  }
}
