// chatterbox-bench: one benchmark program for the whole engine.
//
//   chatterbox-bench --model DIR [--threads N] [--repeat N] [CASE ...]
//
// Each model part registers its cases with BENCH_CASE in its own bench_*.cpp. A case prints one
// JSON object per measurement on stdout through bench::emit(), e.g.
//   {"case":"t3","measure":"decode_ms_per_token","value":118.2,"floor":37.1,"ratio":3.19,...}
// Machine floors (memory bandwidth, GEMM throughput) are measured in the same run by the helpers
// below, so ratios compare like with like on a noisy shared machine.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace bench {

struct Options {
  std::string model_dir;  // a full-size model from chatterbox-make-test-model --size full
  int repeat = 3;
  int threads = 0;                // 0: libtorch default
  std::vector<std::string> args;  // extra "key=value" arguments for the cases
};

using CaseFn = void (*)(const Options&);
struct Register {
  Register(const char* name, CaseFn fn);
};

// Prints {"case": .., "measure": .., "value": .., "unit": .., extra fields} as one line.
void emit(const std::string& case_name, const std::string& measure, double value,
          const std::string& unit, nlohmann::json extra = nlohmann::json::object());

double now_seconds();
// The value of a "key=value" case argument, or `fallback`.
std::string arg_value(const Options& options, const std::string& key, const std::string& fallback);
// A comma-separated "key=a,b,c" case argument as its items (empty items dropped), or `fallback`'s.
std::vector<std::string> arg_list(const Options& options, const std::string& key,
                                  const std::string& fallback);
// Where the oracle fixtures are (for full-size checkpoint layouts): the `oracle=DIR` argument, else
// $CHATTERBOX_ORACLE_DIR, else the directory the build was configured with (-Doracle-dir).
std::string oracle_dir(const Options& options);
double median(std::vector<double> values);
bool file_exists(const std::string& path);
// Seconds to stream `bytes` of memory once through a matrix-vector product (gemv), best of a few
// runs: the memory-bandwidth floor for a step that must read that many weight bytes.
double gemv_floor_seconds(double bytes);
// Sustained fp32 GEMM throughput of this machine through libtorch, in FLOP/s.
double gemm_flops_per_second();
// Peak resident set size of this process so far, bytes; minor+major page faults so far.
double peak_rss_bytes();
long page_faults();

}  // namespace bench

#define BENCH_CASE(name)                                     \
  static void name(const bench::Options& options);           \
  static bench::Register bench_register_##name(#name, name); \
  static void name(const bench::Options& options)
