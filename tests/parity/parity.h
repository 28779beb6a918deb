// chatterbox-parity: checks the engine against fixtures in the oracle's format
//   DIR/weights/{t3_cfg,s3gen,ve}.safetensors (+ .json hyper-parameters)
//   DIR/fixtures/*.safetensors, DIR/fixtures/text_norm.json, DIR/manifest.json
//
// Each model part registers its checks with PARITY_CHECK in its own *_checks.cpp. A check reads
// fixture inputs with ctx.input(), runs the engine code, and reports each output with
// ctx.compare(). The runner prints one line per compared tensor
//   <fixture>:<tensor> max_abs_err=<e> tolerance=<t> PASS|FAIL
// then lists every manifest tensor that no check used or compared, and exits non-zero on any
// failure.
#pragma once

#include <ATen/Tensor.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "io/safetensors.h"
#include "io/weights.h"

namespace parity {

// Tolerance = rel_to_max * max|reference| + abs.
struct Tolerance {
  double rel_to_max = 1e-4;
  double abs = 0.0;
};
constexpr Tolerance kModelOutput{1e-4, 0.0};  // logits, embeddings, encoder/estimator/mel outputs
constexpr Tolerance kWaveform{1e-3, 0.0};     // waveforms whose source is regenerated from F0
constexpr Tolerance kLogMel{0.0, 1e-4};       // log-mel front ends

class Context {
 public:
  explicit Context(std::string dir);

  const std::string& dir() const { return dir_; }
  // "fixtures/t3_forward.safetensors" style file names are given without the folder:
  // input("t3_forward", "input.text_tokens").
  at::Tensor input(const std::string& fixture, const std::string& key);
  bool has(const std::string& fixture, const std::string& key);
  // Compares float tensors with `tol`, integer tensors exactly. Returns true on PASS.
  bool compare(const std::string& fixture, const std::string& key, const at::Tensor& actual,
               Tolerance tol = kModelOutput);
  // Records a result computed outside compare() (e.g. text fixtures, token agreement).
  void report(const std::string& name, double error, double tolerance, bool pass);
  // Marks a fixture tensor as checked without comparing it here (e.g. used only as a random
  // draw that was injected).
  void mark_used(const std::string& fixture, const std::string& key);

  // weights("t3_cfg") -> DIR/weights/t3_cfg.safetensors; weights_config("t3_cfg") its .json
  // (null when absent).
  std::shared_ptr<const chatterbox::SafetensorsFile> weights(const std::string& name);
  nlohmann::json weights_config(const std::string& name);
  std::string weights_dir() const { return dir_ + "/weights"; }

  int failures() const { return failures_; }
  int passes() const { return passes_; }
  void fail_check(const std::string& check, const std::string& why);
  std::set<std::string> unchecked_manifest_tensors() const;

 private:
  std::shared_ptr<const chatterbox::SafetensorsFile> fixture_file(const std::string& fixture);
  std::string dir_;
  std::map<std::string, std::shared_ptr<const chatterbox::SafetensorsFile>> files_;
  std::set<std::string> used_;  // "fixture:key"
  int failures_ = 0;
  int passes_ = 0;
};

using CheckFn = void (*)(Context&);
// `requires_path` (relative to the oracle directory, e.g. "fixtures/t3_forward.safetensors") is
// what makes a check belong to a fixture set: the runner runs it only where that file exists,
// so one binary serves the English, Turbo and multilingual sets. "" = runs against every set.
struct Register {
  Register(const char* name, const char* requires_path, CheckFn fn);
};

}  // namespace parity

#define PARITY_CHECK(name, requires_path)                                     \
  static void name(parity::Context& ctx);                                     \
  static parity::Register parity_register_##name(#name, requires_path, name); \
  static void name(parity::Context& ctx)
