// serve_jobs.cpp: the worker thread of `pangu-draw serve` and the bookkeeping that the HTTP
// threads read (progress) and act on (cancel, interrupt, shutdown).
#include "serve_jobs.h"

#include <exception>

namespace pangu_draw::serve {

JobQueue::JobQueue(Pipeline pipeline, std::size_t max_queue)
    : pipeline_(std::move(pipeline)), max_queue_(max_queue) {
  worker_ = std::thread([this] { run(); });
}

JobQueue::~JobQueue() { shutdown(); }

bool JobQueue::submit(const std::shared_ptr<Job>& job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || queue_.size() >= max_queue_) return false;
  queue_.push_back(job);
  cv_.notify_all();
  return true;
}

bool JobQueue::wait(const std::shared_ptr<Job>& job, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return job->done; });
}

void JobQueue::cancel(const std::shared_ptr<Job>& job) {
  std::lock_guard<std::mutex> lock(mu_);
  job->cancelled = true;
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (*it != job) continue;
    queue_.erase(it);
    job->interrupted = true;
    job->done = true;
    cv_.notify_all();
    break;
  }
}

void JobQueue::interrupt() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) interrupt_ = true;
}

Progress JobQueue::progress() const {
  std::lock_guard<std::mutex> lock(mu_);
  Progress p = progress_;
  p.queued = static_cast<int>(queue_.size());
  if (p.busy) p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return p;
}

void JobQueue::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& job : queue_) {
      job->cancelled = true;
      job->interrupted = true;
      job->done = true;
    }
    queue_.clear();
    if (running_) running_->cancelled = true;
    cv_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
}

void JobQueue::run() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) return;
      job = queue_.front();
      queue_.pop_front();
      running_ = job;
      interrupt_ = false;
      started_ = std::chrono::steady_clock::now();
      progress_ = Progress{};
      progress_.busy = true;
      progress_.job_count = job->images;
      progress_.timestamp = job->timestamp;
    }
    run_job(*job);
    std::lock_guard<std::mutex> lock(mu_);
    progress_.busy = false;
    progress_.interrupted = job->interrupted;
    progress_.step = progress_.steps = 0;
    running_.reset();
    job->done = true;
    cv_.notify_all();
  }
}

bool JobQueue::on_step(Job& job, int step, int steps) {
  std::lock_guard<std::mutex> lock(mu_);
  progress_.step = step;
  progress_.steps = steps;
  return !job.cancelled && !interrupt_;
}

// Runs the images one by one (seeds base_seed + i, as Request::batch_count would), so that an
// interrupt keeps the images already finished, as A1111 does.
void JobQueue::run_job(Job& job) {
  for (int i = 0; i < job.images; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      progress_.job_no = i;
      progress_.step = 0;
    }
    if (job.cancelled || interrupt_) {
      job.interrupted = true;
      return;
    }
    Request r = job.request;
    r.batch_count = 1;
    r.seed = job.base_seed + i;
    try {
      Result one = pipeline_.generate(r, [&](int step, int steps) { return on_step(job, step, steps); });
      for (auto& image : one.images) job.result.images.push_back(std::move(image));
      for (auto seed : one.seeds) job.result.seeds.push_back(seed);
      for (auto& text : one.parameters) job.result.parameters.push_back(std::move(text));
    } catch (const Error& e) {
      if (job.cancelled || interrupt_) {
        job.interrupted = true;  // "cancelled by the caller": our on_step said stop
      } else {
        job.error = e;
      }
      return;
    } catch (const std::exception& e) {
      job.error = Error(ErrorKind::Runtime, e.what());
      return;
    }
  }
}

}  // namespace pangu_draw::serve
