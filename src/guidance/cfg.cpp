// cfg.cpp: classifier-free and style-guided guidance: the branch plan, combining branch outputs,
// dynamic thresholding.
#include "guidance/cfg.h"

#include "core/error.h"

namespace pangu_draw::guidance {

BranchPlan plan_branches(const GuidanceScales& scales) {
  BranchPlan plan;
  plan.uncond = scales.cfg > 1.0;  // diffusers: guidance only for scales above 1
  plan.styles = static_cast<int>(scales.styles.size());
  return plan;
}

torch::Tensor combine(const torch::Tensor& batched, const BranchPlan& plan,
                      const GuidanceScales& scales) {
  const int n = plan.size();
  PD_CHECK(batched.size(0) % n == 0, Runtime,
           "guidance: batch of " << batched.size(0) << " is not " << n << " branches");
  PD_CHECK(static_cast<int>(scales.styles.size()) == plan.styles, Runtime,
           "guidance: " << plan.styles << " style branches but " << scales.styles.size()
                        << " style scales");
  auto parts = batched.chunk(n, 0);
  int at = 0;
  torch::Tensor uncond = plan.uncond ? parts[at++] : torch::Tensor();
  torch::Tensor cond = parts[at++];
  torch::Tensor out = plan.uncond ? uncond + scales.cfg * (cond - uncond) : cond;
  for (int i = 0; i < plan.styles; ++i) out = out + scales.styles[i] * (parts[at++] - cond);
  return out;
}

torch::Tensor dynamic_threshold(const torch::Tensor& x0, double percentile, double max_value,
                                double data_range) {
  PD_CHECK(percentile > 0.0 && percentile <= 1.0, Usage,
           "dynamic threshold percentile must be in (0, 1], got " << percentile);
  PD_CHECK(max_value >= 1.0, Usage, "dynamic threshold max must be >= 1, got " << max_value);
  PD_CHECK(data_range > 0.0, Usage, "dynamic threshold data range must be > 0, got " << data_range);
  const auto batch = x0.size(0);
  auto flat = x0.reshape({batch, -1}).abs().to(torch::kFloat) / data_range;
  auto s = torch::quantile(flat, percentile, /*dim=*/1).clamp(1.0, max_value);  // [B]
  std::vector<int64_t> shape(static_cast<size_t>(x0.dim()), 1);
  shape[0] = batch;
  s = (s * data_range).reshape(shape).to(x0.scalar_type());  // in x0's units
  return torch::max(torch::min(x0, s), -s) * (data_range / s);
}

}  // namespace pangu_draw::guidance
