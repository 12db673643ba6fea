// serve_jobs.h: the job queue of `pangu-draw serve`: one worker thread runs generation jobs in
// order on the resident Pipeline while the HTTP threads queue jobs, wait, watch progress, cancel.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::serve {

// One HTTP request's work: `images` runs of `request` (batch_count 1) with seeds base_seed + i.
struct Job {
  Request request;
  int images = 1;
  std::int64_t base_seed = 0;
  std::string timestamp;               // A1111's job_timestamp, YYYYmmddHHMMSS
  std::atomic<bool> cancelled{false};  // the client went away, or the server stops
  // Filled by the worker; read after done.
  bool done = false;
  bool interrupted = false;  // stopped by /interrupt, a disconnect or shutdown: partial results
  std::optional<Error> error;
  Result result;
};

// What /sdapi/v1/progress reports.
struct Progress {
  bool busy = false;
  bool interrupted = false;  // the last job was interrupted
  int job_count = 0;         // images of the running job
  int job_no = 0;            // the image being drawn
  int step = 0, steps = 0;
  int queued = 0;            // jobs waiting behind it
  double elapsed_s = 0;      // since the running job started
  std::string timestamp;
};

class JobQueue {
 public:
  JobQueue(Pipeline pipeline, std::size_t max_queue);
  ~JobQueue();
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Queues the job; false when max_queue jobs already wait or the queue is stopping.
  bool submit(const std::shared_ptr<Job>& job);
  // Waits up to `timeout` for the job; true when it is done.
  bool wait(const std::shared_ptr<Job>& job, std::chrono::milliseconds timeout);
  // The client went away: a queued job is dropped, a running one stops at its next step.
  void cancel(const std::shared_ptr<Job>& job);
  // A1111's /interrupt: the running job stops at its next step and returns what it finished.
  void interrupt();
  Progress progress() const;
  // Stops accepting, cancels queued and running jobs (they end as interrupted), joins the worker.
  void shutdown();
  bool stopping() const { return stopping_; }

 private:
  void run();
  void run_job(Job& job);
  bool on_step(Job& job, int step, int steps);

  Pipeline pipeline_;
  std::size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // the worker waits for jobs; clients wait for results
  std::deque<std::shared_ptr<Job>> queue_;
  std::shared_ptr<Job> running_;
  std::atomic<bool> interrupt_{false};
  std::atomic<bool> stopping_{false};
  Progress progress_;
  std::chrono::steady_clock::time_point started_;
  std::thread worker_;
};

}  // namespace pangu_draw::serve
