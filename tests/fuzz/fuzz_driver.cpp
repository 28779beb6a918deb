// A plain random-input driver for the fuzz targets, so they run in every `meson test` without
// libFuzzer: it calls LLVMFuzzerTestOneInput on the target's seed inputs, then on random
// mutations of them (byte flips, insertions, deletions, splices, big numbers, truncation) for a
// time budget. Deterministic for a given --seed.
//
//   chatterbox-fuzz-<target> [--seconds S] [--seed N] [FILE|DIR...]
//
// FILEs, and the files in each DIR, are extra seeds: `meson test` passes the target's committed
// corpus, tests/fuzz/corpus/<target>/ (the same directory libFuzzer takes as its corpus).
//
// For coverage-guided fuzzing, build the same target file with clang and libFuzzer instead of
// this driver, e.g. (engine built with clang, see tests/fuzz/meson.build):
//   clang++ -std=c++17 -fsanitize=fuzzer,address fuzz_tokenizer.cpp <engine objects> ...
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Seed inputs of the target (valid and near-valid examples).
std::vector<std::string> fuzz_seeds();

namespace {

std::string mutate(const std::vector<std::string>& pool, std::mt19937_64& rng) {
  std::string s = pool[rng() % pool.size()];
  const int steps = 1 + static_cast<int>(rng() % 6);
  static const char* const kTokens[] = {"18446744073709551615",
                                        "-1",
                                        "1e309",
                                        "4294967296",
                                        "0",
                                        "[",
                                        "]",
                                        "{",
                                        "}",
                                        "\"",
                                        ",",
                                        ":",
                                        "null",
                                        "\xff",
                                        "\xc3",
                                        "\xe2\x80",
                                        " ",
                                        "[SPACE]",
                                        "...",
                                        "\n\n",
                                        "\xf0\x9f\x98\x80"};
  for (int k = 0; k < steps; ++k) {
    const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 7) {
      case 0:  // flip a byte
        if (!s.empty()) s[pos % s.size()] = static_cast<char>(rng());
        break;
      case 1:  // insert random bytes
        s.insert(pos, std::string(1 + rng() % 4, static_cast<char>(rng())));
        break;
      case 2:  // delete a range
        if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 8);
        break;
      case 3:  // insert an interesting token
        s.insert(pos, kTokens[rng() % (sizeof(kTokens) / sizeof(kTokens[0]))]);
        break;
      case 4:  // truncate
        s.resize(pos);
        break;
      case 5: {  // splice in a piece of another seed
        const std::string& o = pool[rng() % pool.size()];
        if (!o.empty()) {
          const size_t b = rng() % o.size();
          s.insert(pos, o.substr(b, 1 + rng() % 32));
        }
        break;
      }
      default:  // replace a digit run with a big or negative number
        for (size_t i = pos; i < s.size(); ++i)
          if (s[i] >= '0' && s[i] <= '9') {
            size_t j = i;
            while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
            s.replace(i, j - i, kTokens[rng() % 5]);
            break;
          }
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5.0;
  uint64_t seed = 1;
  std::vector<std::string> pool = fuzz_seeds();
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::vector<std::filesystem::path> files;
      if (std::filesystem::is_directory(argv[i])) {
        for (const auto& entry : std::filesystem::directory_iterator(argv[i]))
          if (entry.is_regular_file()) files.push_back(entry.path());
        std::sort(files.begin(), files.end());  // deterministic order for a given --seed
      } else {
        files.push_back(argv[i]);
      }
      for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
          std::fprintf(stderr, "cannot read seed %s\n", file.c_str());
          return 2;
        }
        pool.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
    }
  }
  const size_t seeds = pool.size();
  auto run = [](const std::string& s) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  for (const auto& s : pool) run(s);
  std::mt19937_64 rng(seed);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t n = 0;
  while (std::chrono::steady_clock::now() < end) {
    std::string input = mutate(pool, rng);
    run(input);
    ++n;
    // Keep some mutants as new seeds so mutations compound.
    if (rng() % 16 == 0 && input.size() < 1 << 16) pool.push_back(std::move(input));
  }
  std::printf("%llu inputs (%zu seeds), no crash\n",
              static_cast<unsigned long long>(n + pool.size()), seeds);
  return 0;
}
