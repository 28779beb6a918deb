/* What the storm and bad-input tests of chatterboxtts add to element_check.h: a watchdog that
 * turns a step that never returns into a failure naming the step (instead of a test that hangs
 * until the runner kills it), and the process's resident memory. */
#pragma once

/* Before gstcheck.h (its `fail` macro breaks standard headers included after it). */
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "element_check.h"

/* How long one step (a push, a pull, a state change, a flush) may take before the test calls
 * it hung. Not a speed bound: each step normally takes milliseconds; a deadlocked one never
 * returns. Generous for sanitizer builds on a loaded machine. */
static const int kStepSeconds = 120;
/* CHATTERBOX_TEST_STEP_SECONDS overrides it, e.g. to tell a hang from a slow step. */
static inline int step_seconds(void) {
  const char* env = g_getenv("CHATTERBOX_TEST_STEP_SECONDS");
  return env ? atoi(env) : kStepSeconds;
}

/* Aborts the test program when an armed step is not disarmed within kStepSeconds, after
 * printing the step's name. Use through WatchdogStep. */
class Watchdog {
 public:
  Watchdog() : thread_([this] { run(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
    }
    cond_.notify_all();
    thread_.join();
  }
  void arm(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    what_ = what;
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(step_seconds());
    armed_ = true;
  }
  void disarm() {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_ = false;
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!quit_) {
      if (armed_ && std::chrono::steady_clock::now() > deadline_) {
        std::fprintf(stderr, "HANG: '%s' did not return within %d s\n", what_.c_str(),
                     step_seconds());
        std::fflush(stderr);
        std::abort();
      }
      cond_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }

  std::mutex mutex_;
  std::condition_variable cond_;
  std::string what_;
  std::chrono::steady_clock::time_point deadline_;
  bool armed_ = false;
  bool quit_ = false;
  std::thread thread_;
};

/* Arms the watchdog for the life of the object. */
class WatchdogStep {
 public:
  WatchdogStep(Watchdog& dog, const std::string& what) : dog_(dog) { dog_.arm(what); }
  ~WatchdogStep() { dog_.disarm(); }

 private:
  Watchdog& dog_;
};

/* Resident set size of this process in MiB (/proc/self/statm). */
static inline double resident_mib(void) {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  fail_unless(f != NULL);
  fail_unless_equals_int(std::fscanf(f, "%ld %ld", &pages, &resident), 2);
  std::fclose(f);
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

/* Sanitizer builds keep freed memory in quarantine and add shadow memory, so resident memory
 * says nothing about leaks there (ASan/LSan report leaks themselves). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
static const bool kMeasureMemory = false;
#else
static const bool kMeasureMemory = true;
#endif

/* Resident memory growth over the cycles after warm-up, per 100 cycles. Measured after
 * malloc_trim(0), which returns the free memory glibc keeps in its arenas (one per thread that
 * allocated, up to 8 per core) to the system: what remains is memory still in use, which a
 * leak grows and allocator caching does not. The untrimmed figure is printed beside it. */
class MemoryGrowth {
 public:
  /* Call after the warm-up cycles. */
  void start(int cycle) {
    start_cycle_ = cycle;
    start_raw_mib_ = resident_mib();
    malloc_trim(0);
    start_mib_ = resident_mib();
  }
  /* Prints the trimmed resident memory at `cycle` (long runs: does the growth level off?). */
  void progress(const char* what, int cycle) {
    malloc_trim(0);
    const double mib = resident_mib();
    g_print("%s: cycle %d: %.1f MiB after malloc_trim (%+.2f per 100 cycles since cycle %d)\n",
            what, cycle, mib, (mib - start_mib_) * 100.0 / double(cycle - start_cycle_),
            start_cycle_);
  }
  /* Fails when the trimmed growth from start() to `cycle` exceeds `bound_mib` per 100
   * cycles. */
  void check(const char* what, int cycle, double bound_mib) {
    const double cycles = double(cycle - start_cycle_);
    const double raw_mib = resident_mib();
    malloc_trim(0);
    const double end_mib = resident_mib();
    const double per_100 = (end_mib - start_mib_) * 100.0 / cycles;
    g_print(
        "%s: cycles %d..%d: resident %.1f -> %.1f MiB untrimmed (%+.2f per 100 cycles), "
        "%.1f -> %.1f MiB after malloc_trim (%+.2f per 100 cycles, bound %.1f)\n",
        what, start_cycle_, cycle, start_raw_mib_, raw_mib,
        (raw_mib - start_raw_mib_) * 100.0 / cycles, start_mib_, end_mib, per_100, bound_mib);
    if (!kMeasureMemory) return;
    fail_unless(per_100 < bound_mib,
                "%s: resident memory grew %.2f MiB per 100 cycles (bound %.1f)", what, per_100,
                bound_mib);
  }

 private:
  int start_cycle_ = 0;
  double start_raw_mib_ = 0;
  double start_mib_ = 0;
};

/* Pops every message on the test bus and fails on an error or a warning (naming it). */
static inline void expect_no_problem_on_bus(const char* when) {
  while (GstMessage* msg = gst_bus_pop(bus)) {
    GstMessageType type = GST_MESSAGE_TYPE(msg);
    if (type == GST_MESSAGE_ERROR || type == GST_MESSAGE_WARNING) {
      GError* err = NULL;
      gchar* debug = NULL;
      if (type == GST_MESSAGE_ERROR)
        gst_message_parse_error(msg, &err, &debug);
      else
        gst_message_parse_warning(msg, &err, &debug);
      fail("%s: unexpected %s: %s (%s)", when, GST_MESSAGE_TYPE_NAME(msg), err->message,
           GST_STR_NULL(debug));
    }
    gst_message_unref(msg);
  }
}
