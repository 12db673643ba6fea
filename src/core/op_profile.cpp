// op_profile.cpp: thread-local RecordFunction callbacks that accumulate each operator's self
// time (own wall time minus nested operators) for OpProfile.
#include "core/op_profile.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "core/error.h"

namespace pangu_draw::core {

namespace {

using Clock = std::chrono::steady_clock;

struct Totals {
  double self_s = 0.0;
  int64_t calls = 0;
};

// State of the profiling thread: nested calls' accumulated child time, and the per-op totals.
struct ThreadState {
  bool active = false;
  std::vector<double> child_s;  // one entry per open call: time spent in its nested calls
  std::map<std::string, Totals> totals;
};

thread_local ThreadState t_state;

struct CallStart : at::ObserverContext {
  Clock::time_point t0;
};

std::unique_ptr<at::ObserverContext> on_enter(const at::RecordFunction&) {
  if (!t_state.active) return nullptr;
  auto ctx = std::make_unique<CallStart>();
  t_state.child_s.push_back(0.0);
  ctx->t0 = Clock::now();
  return ctx;
}

void on_exit(const at::RecordFunction& fn, at::ObserverContext* ctx) {
  if (!t_state.active || ctx == nullptr || t_state.child_s.empty()) return;
  const std::chrono::duration<double> dt = Clock::now() - static_cast<CallStart*>(ctx)->t0;
  const double children = t_state.child_s.back();
  t_state.child_s.pop_back();
  Totals& t = t_state.totals[fn.name()];
  t.self_s += dt.count() - children;
  t.calls += 1;
  if (!t_state.child_s.empty()) t_state.child_s.back() += dt.count();
}

}  // namespace

OpProfile::OpProfile() {
  PD_CHECK(!t_state.active, Runtime, "an OpProfile is already running on this thread");
  t_state = ThreadState{};
  t_state.active = true;
  handle_ = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&on_enter, &on_exit).scopes({at::RecordScope::FUNCTION}));
}

OpProfile::~OpProfile() {
  if (handle_ == 0) return;  // result() already stopped it
  at::removeCallback(handle_);
  t_state.active = false;
}

std::vector<OpTime> OpProfile::result() {
  if (handle_ != 0) at::removeCallback(handle_);
  handle_ = 0;
  t_state.active = false;
  std::vector<OpTime> out;
  for (const auto& [name, t] : t_state.totals) out.push_back({name, t.self_s, t.calls});
  std::sort(out.begin(), out.end(),
            [](const OpTime& a, const OpTime& b) { return a.self_s > b.self_s; });
  t_state = ThreadState{};
  return out;
}

}  // namespace pangu_draw::core
