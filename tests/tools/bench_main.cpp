#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "bench.h"
#include "common/error.h"
#include "engine/blas_threads.h"

namespace bench {
namespace {
std::vector<std::pair<const char*, CaseFn>>& registry() {
  static std::vector<std::pair<const char*, CaseFn>> cases;
  return cases;
}
}  // namespace

Register::Register(const char* name, CaseFn fn) { registry().emplace_back(name, fn); }

void emit(const std::string& case_name, const std::string& measure, double value,
          const std::string& unit, nlohmann::json extra) {
  nlohmann::ordered_json j;
  j["case"] = case_name;
  j["measure"] = measure;
  j["value"] = value;
  j["unit"] = unit;
  for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string arg_value(const Options& options, const std::string& key, const std::string& fallback) {
  for (const auto& a : options.args)
    if (a.rfind(key + "=", 0) == 0) return a.substr(key.size() + 1);
  return fallback;
}

std::vector<std::string> arg_list(const Options& options, const std::string& key,
                                  const std::string& fallback) {
  std::vector<std::string> out;
  std::stringstream ss(arg_value(options, key, fallback));
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string oracle_dir(const Options& options) {
  const char* env = std::getenv("CHATTERBOX_ORACLE_DIR");
  return arg_value(options, "oracle", env ? env : CHATTERBOX_ORACLE_DIR);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

double gemv_floor_seconds(double bytes) {
  // One square fp32 matrix of ~256 MB (bigger than any cache), streamed by at::mv; scale to bytes.
  const int64_t n = 8192;
  at::Tensor w = at::randn({n, n});
  at::Tensor x = at::randn({n});
  at::mv(w, x);  // warm up: fault the pages in
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    double t0 = now_seconds();
    at::Tensor y = at::mv(w, x);
    best = std::min(best, now_seconds() - t0);
  }
  const double matrix_bytes = double(n) * n * 4;
  return best * bytes / matrix_bytes;
}

double gemm_flops_per_second() {
  const int64_t n = 1024;
  at::Tensor a = at::randn({n, n}), b = at::randn({n, n});
  at::mm(a, b);
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    double t0 = now_seconds();
    at::Tensor c = at::mm(a, b);
    best = std::min(best, now_seconds() - t0);
  }
  return 2.0 * n * n * n / best;
}

double peak_rss_bytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) * 1024.0;
}

long page_faults() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt + ru.ru_majflt;
}

}  // namespace bench

int main(int argc, char** argv) {
  bench::Options options;
  std::vector<std::string> selected;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--model" && i + 1 < argc)
      options.model_dir = argv[++i];
    else if (a == "--repeat" && i + 1 < argc)
      options.repeat = std::atoi(argv[++i]);
    else if (a == "--threads" && i + 1 < argc)
      options.threads = std::atoi(argv[++i]);
    else if (a == "--list") {
      for (const auto& [name, fn] : bench::registry()) std::printf("%s\n", name);
      return 0;
    } else if (a.find('=') != std::string::npos)
      options.args.push_back(a);
    else if (a.rfind("--", 0) == 0) {
      std::fprintf(
          stderr,
          "usage: %s --model DIR [--repeat N] [--threads N] [--list] [key=value ...] [CASE ...]\n",
          argv[0]);
      return 2;
    } else
      selected.push_back(a);
  }
  if (options.threads > 0) at::set_num_threads(options.threads);
  // As the engine does while a stage runs more than one intra-op thread (engine/blas_threads.h).
  chatterbox::ScopedSingleThreadedBlas single_threaded_blas(at::get_num_threads() > 1);
  bench::emit("machine", "threads", at::get_num_threads(), "torch intra-op threads");
  bench::emit("machine", "openblas_threads", chatterbox::openblas_threads(),
              "OpenBLAS threads (-1: not OpenBLAS)");
  int failures = 0;
  for (const auto& [name, fn] : bench::registry()) {
    if (!selected.empty() && std::find(selected.begin(), selected.end(), name) == selected.end())
      continue;
    try {
      fn(options);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench case %s failed: %s\n", name, e.what());
      failures++;
    }
  }
  return failures ? 1 : 0;
}
