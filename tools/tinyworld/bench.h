// bench.h: the TinyWorld quality benchmark: generate images for the held-out prompts (English
// and Chinese), check each one, and score attribute accuracy plus an FID-style distance between
// the checker features of generated and held-out real images.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checker.h"
#include "pangu_draw/pangu_draw.h"
#include "scene.h"

namespace pangu_draw::tinyworld {

// The held-out evaluation scenes: combinations never drawn for training, seeds from 10^9 on.
std::vector<Scene> heldout_scenes(int count);

// One line per scene: {"id", "en", "zh", "truth"} (the held-out prompt list's format).
nlohmann::json prompt_record(const Scene& s, int id);

struct BenchOptions {
  int prompts = 24;  // held-out scenes used (each in every language)
  std::vector<std::string> langs = {"en", "zh"};
  int size = 64;             // real images are rendered at this size
  int real_images = 256;     // held-out real images for the distribution distance
  bool style_prefix = true;  // prompts start with the style word ("cartoon style, ")
};

struct Score {
  std::array<int, kCategories> correct{};
  int images = 0;
  double accuracy(int category) const { return images ? double(correct[category]) / images : 0; }
  double overall() const;  // mean over categories
  void add(const std::array<bool, kCategories>& m);
};

struct BenchReport {
  Score all;
  std::vector<std::pair<std::string, Score>> per_lang;
  Score reference;               // the checker on the held-out real images (its ceiling)
  double frechet = 0;            // generated vs held-out real checker features
  double frechet_reference = 0;  // two disjoint halves of real images (the floor)
  nlohmann::json to_json() const;
  std::string to_text() const;
};

// Accuracy of guessing uniformly, per category (kCategoryNames order).
std::array<double, kCategories> chance_accuracy();

// Generates with `generate(prompt, index)` and scores. `on_image` (optional) sees every image.
using GenerateFn = std::function<Image(const std::string& prompt, int index)>;
using ImageFn = std::function<void(const Image&, const Scene&, const std::string& lang, int index,
                                   const Detection&)>;
BenchReport run_bench(const BenchOptions& options, const GenerateFn& generate,
                      const ImageFn& on_image = {});

}  // namespace pangu_draw::tinyworld
