#include <ATen/ATen.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "common/error.h"
#include "parity.h"

namespace parity {
namespace {

struct RegisteredCheck {
  const char* name;
  const char* requires_path;
  CheckFn fn;
};

std::vector<RegisteredCheck>& registry() {
  static std::vector<RegisteredCheck> checks;
  return checks;
}

bool file_exists(const std::string& path) {
  std::ifstream in(path);
  return bool(in);
}

}  // namespace

Register::Register(const char* name, const char* requires_path, CheckFn fn) {
  registry().push_back({name, requires_path, fn});
}

Context::Context(std::string dir) : dir_(std::move(dir)) {}

std::shared_ptr<const chatterbox::SafetensorsFile> Context::fixture_file(
    const std::string& fixture) {
  auto it = files_.find(fixture);
  if (it != files_.end()) return it->second;
  auto file = std::make_shared<const chatterbox::SafetensorsFile>(dir_ + "/fixtures/" + fixture +
                                                                  ".safetensors");
  files_[fixture] = file;
  return file;
}

bool Context::has(const std::string& fixture, const std::string& key) {
  return fixture_file(fixture)->contains(key);
}

at::Tensor Context::input(const std::string& fixture, const std::string& key) {
  used_.insert(fixture + ":" + key);
  return fixture_file(fixture)->tensor(key).clone();
}

void Context::mark_used(const std::string& fixture, const std::string& key) {
  used_.insert(fixture + ":" + key);
}

void Context::report(const std::string& name, double error, double tolerance, bool pass) {
  std::printf("%-60s max_abs_err=%.3e tolerance=%.3e %s\n", name.c_str(), error, tolerance,
              pass ? "PASS" : "FAIL");
  std::fflush(stdout);
  (pass ? passes_ : failures_)++;
}

bool Context::compare(const std::string& fixture, const std::string& key,
                      const at::Tensor& actual_in, Tolerance tol) {
  const std::string name = fixture + ":" + key;
  used_.insert(name);
  at::Tensor expected = fixture_file(fixture)->tensor(key);
  at::Tensor actual = actual_in.detach().to(at::kCPU);
  if (!actual.defined() || actual.sizes() != expected.sizes()) {
    std::printf(
        "%-60s shape %s, expected %s FAIL\n", name.c_str(),
        actual.defined() ? chatterbox::shape_string(actual.sizes().vec()).c_str() : "(undefined)",
        chatterbox::shape_string(expected.sizes().vec()).c_str());
    failures_++;
    return false;
  }
  if (!at::isFloatingType(expected.scalar_type())) {
    int64_t mismatches = actual.to(at::kLong).ne(expected.to(at::kLong)).sum().item<int64_t>();
    report(name + " (exact, mismatches)", double(mismatches), 0.0, mismatches == 0);
    return mismatches == 0;
  }
  at::Tensor e = expected.to(at::kDouble), a = actual.to(at::kDouble);
  // -inf in filtered logits must match -inf; compare finite entries numerically.
  at::Tensor finite = at::isfinite(e);
  bool inf_ok =
      at::equal(finite, at::isfinite(a)) &&
      at::equal(e.masked_select(finite.logical_not()), a.masked_select(finite.logical_not()));
  double max_ref = e.numel() ? e.masked_select(finite).abs().max().item<double>() : 0.0;
  double err = e.numel() ? (a - e).masked_select(finite).abs().max().item<double>() : 0.0;
  if (std::isnan(err)) err = INFINITY;
  double tolerance = tol.rel_to_max * max_ref + tol.abs;
  bool pass = inf_ok && err <= tolerance;
  report(name, err, tolerance, pass);
  return pass;
}

std::shared_ptr<const chatterbox::SafetensorsFile> Context::weights(const std::string& name) {
  return std::make_shared<const chatterbox::SafetensorsFile>(weights_dir() + "/" + name +
                                                             ".safetensors");
}

nlohmann::json Context::weights_config(const std::string& name) {
  std::ifstream in(weights_dir() + "/" + name + ".json");
  if (!in) return nullptr;
  return nlohmann::json::parse(in);
}

void Context::fail_check(const std::string& check, const std::string& why) {
  std::printf("%-60s ERROR %s FAIL\n", check.c_str(), why.c_str());
  failures_++;
}

std::set<std::string> Context::unchecked_manifest_tensors() const {
  std::set<std::string> out;
  std::ifstream in(dir_ + "/manifest.json");
  if (!in) return out;
  auto manifest = nlohmann::json::parse(in);
  for (auto f = manifest["files"].begin(); f != manifest["files"].end(); ++f) {
    const std::string& path = f.key();
    if (path.rfind("fixtures/", 0) != 0) continue;
    std::string fixture = path.substr(9, path.size() - 9 - std::string(".safetensors").size());
    for (auto t = f.value().begin(); t != f.value().end(); ++t)
      if (!used_.count(fixture + ":" + t.key())) out.insert(fixture + ":" + t.key());
  }
  return out;
}

}  // namespace parity

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s ORACLE_DIR [CHECK_NAME_SUBSTRING]\n", argv[0]);
    return 2;
  }
  parity::Context ctx(argv[1]);
  const std::string filter = argc == 3 ? argv[2] : "";
  int fixture_checks_run = 0;
  for (const auto& check : parity::registry()) {
    if (!filter.empty() && std::string(check.name).find(filter) == std::string::npos) continue;
    const std::string required = check.requires_path;
    if (!required.empty()) {
      if (!parity::file_exists(ctx.dir() + "/" + required))
        continue;  // another fixture set's check
      fixture_checks_run++;
    }
    try {
      check.fn(ctx);
    } catch (const std::exception& e) {
      ctx.fail_check(check.name, e.what());
    }
  }
  if (filter.empty() && fixture_checks_run == 0) {
    // A directory no check recognises is a failure, not an empty pass.
    std::fprintf(stderr, "%s: no check matches the fixtures of this directory\n", argv[1]);
    return 1;
  }
  auto unchecked = ctx.unchecked_manifest_tensors();
  // Every recorded tensor must be compared or consumed by some check: an unchecked one fails the
  // run (a whole run only; a filtered run checks part of the set by design).
  int unchecked_count = 0;
  if (filter.empty()) {
    for (const auto& name : unchecked) std::printf("NOT CHECKED %s FAIL\n", name.c_str());
    unchecked_count = int(unchecked.size());
  }
  std::printf("%d passed, %d failed\n", ctx.passes(), ctx.failures() + unchecked_count);
  return ctx.failures() + unchecked_count == 0 ? 0 : 1;
}
