// bench.cpp: held-out prompts, scoring, and the benchmark report (JSON and text).
#include "bench.h"

#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "frechet.h"
#include "render.h"

namespace pangu_draw::tinyworld {

namespace {

constexpr uint64_t kHeldoutSeedBase = 1000000000ULL;

std::vector<double> feature_row(const Detection& d) {
  return std::vector<double>(d.features.begin(), d.features.end());
}

nlohmann::json score_json(const Score& s) {
  nlohmann::json j = {{"images", s.images}, {"overall", s.overall()}};
  for (int k = 0; k < kCategories; ++k) j["accuracy"][kCategoryNames[k]] = s.accuracy(k);
  return j;
}

}  // namespace

std::vector<Scene> heldout_scenes(int count) {
  std::vector<Scene> out;
  for (int i = 0; i < count; ++i) out.push_back(sample_scene(kHeldoutSeedBase + i, true));
  return out;
}

nlohmann::json prompt_record(const Scene& s, int id) {
  return {{"id", id}, {"en", caption_en(s)}, {"zh", caption_zh(s)}, {"truth", to_json(s)}};
}

double Score::overall() const {
  double sum = 0;
  for (int k = 0; k < kCategories; ++k) sum += accuracy(k);
  return sum / kCategories;
}

void Score::add(const std::array<bool, kCategories>& m) {
  ++images;
  for (int k = 0; k < kCategories; ++k) correct[k] += m[k];
}

std::array<double, kCategories> chance_accuracy() {
  return {1.0 / kShapes,    1.0 / kColours,  1.0 / kSizes,  1.0 / kMaxCount,
          1.0 / kPositions, 1.0 / kTextures, 1.0 / kStyles, 1.0 / kBackgrounds};
}

BenchReport run_bench(const BenchOptions& o, const GenerateFn& generate, const ImageFn& on_image) {
  PD_CHECK(o.prompts >= 1 && o.real_images >= 4, Usage,
           "bench: need >= 1 prompt and >= 4 real images");
  BenchReport report;
  std::vector<std::vector<double>> generated, real_a, real_b;
  const auto scenes = heldout_scenes(o.prompts);
  for (const auto& lang : o.langs) {
    PD_CHECK(lang == "en" || lang == "zh", Usage, "bench: language must be en or zh, got " << lang);
    Score score;
    for (int i = 0; i < o.prompts; ++i) {
      const std::string prompt = lang == "en" ? caption_en(scenes[i], o.style_prefix)
                                              : caption_zh(scenes[i], o.style_prefix);
      const Image img = generate(prompt, i);
      const Detection d = check(img);
      const auto m = matches(d, scenes[i]);
      score.add(m);
      report.all.add(m);
      generated.push_back(feature_row(d));
      if (on_image) on_image(img, scenes[i], lang, i, d);
    }
    report.per_lang.emplace_back(lang, score);
  }
  for (const Scene& s : heldout_scenes(o.real_images)) {
    const Detection d = check(render(s, o.size));
    report.reference.add(matches(d, s));
    (real_a.size() <= real_b.size() ? real_a : real_b).push_back(feature_row(d));
  }
  std::vector<std::vector<double>> real = real_a;
  real.insert(real.end(), real_b.begin(), real_b.end());
  report.frechet = generated.size() >= 2 ? frechet_distance(generated, real) : 0.0;
  report.frechet_reference = frechet_distance(real_a, real_b);
  return report;
}

nlohmann::json BenchReport::to_json() const {
  nlohmann::json j = {{"all", score_json(all)},
                      {"checker_on_real", score_json(reference)},
                      {"frechet_distance", frechet},
                      {"frechet_distance_real_halves", frechet_reference}};
  for (const auto& [lang, s] : per_lang) j["per_language"][lang] = score_json(s);
  const auto chance = chance_accuracy();
  for (int k = 0; k < kCategories; ++k) j["chance"][kCategoryNames[k]] = chance[k];
  return j;
}

std::string BenchReport::to_text() const {
  std::ostringstream os;
  char line[160];
  std::snprintf(line, sizeof line, "%-12s %8s", "category", "all");
  os << line;
  for (const auto& p : per_lang) {
    std::snprintf(line, sizeof line, "  %6s", p.first.c_str());
    os << line;
  }
  os << "    real  chance\n";
  const auto chance = chance_accuracy();
  for (int k = 0; k <= kCategories; ++k) {
    const bool total = k == kCategories;
    std::snprintf(line, sizeof line, "%-12s %8.3f", total ? "overall" : kCategoryNames[k],
                  total ? all.overall() : all.accuracy(k));
    os << line;
    for (const auto& p : per_lang) {
      std::snprintf(line, sizeof line, "  %6.3f",
                    total ? p.second.overall() : p.second.accuracy(k));
      os << line;
    }
    double mean_chance = 0;
    for (double c : chance) mean_chance += c / kCategories;
    std::snprintf(line, sizeof line, "  %6.3f  %6.3f\n",
                  total ? reference.overall() : reference.accuracy(k),
                  total ? mean_chance : chance[k]);
    os << line;
  }
  std::snprintf(line, sizeof line, "frechet distance %.4f (real vs real: %.4f), %d images\n",
                frechet, frechet_reference, all.images);
  os << line;
  return os.str();
}

}  // namespace pangu_draw::tinyworld
