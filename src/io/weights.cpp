#include "io/weights.h"

#include <ATen/ATen.h>

#include <mutex>
#include <sstream>

#include "common/error.h"

namespace chatterbox {

struct WeightReader::Shared {
  std::shared_ptr<const SafetensorsFile> file;
  c10::TensorOptions options;
  std::mutex mutex;
  std::vector<std::string> problems;
};

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << "]";
  return s.str();
}

WeightReader::WeightReader(std::shared_ptr<const SafetensorsFile> file, c10::TensorOptions options)
    : shared_(std::make_shared<Shared>()), options_(options) {
  shared_->file = std::move(file);
  shared_->options = options;
}

WeightReader::WeightReader(std::shared_ptr<Shared> shared, std::string prefix)
    : shared_(std::move(shared)), prefix_(std::move(prefix)), options_(shared_->options) {}

WeightReader WeightReader::scoped(const std::string& prefix) const {
  return WeightReader(shared_, prefix_ + prefix);
}

bool WeightReader::has(const std::string& name) const {
  return shared_->file->contains(prefix_ + name);
}

at::Tensor WeightReader::convert(const at::Tensor& t) const {
  if (at::isFloatingType(t.scalar_type()))
    return t.to(options_.device(), options_.dtype().toScalarType());
  return t.to(options_.device());
}

bool WeightReader::check_shape(const std::string& full_name, const at::Tensor& t,
                               const std::vector<int64_t>& shape) {
  if (shape.empty()) return true;
  bool ok = t.dim() == static_cast<int64_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i)
    ok = shape[i] < 0 || shape[i] == t.size(static_cast<int64_t>(i));
  if (!ok) {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->problems.push_back("'" + full_name + "' has shape " + shape_string(t.sizes().vec()) +
                                ", expected " + shape_string(shape));
  }
  return ok;
}

static at::Tensor stand_in(const std::vector<int64_t>& shape, const c10::TensorOptions& options) {
  std::vector<int64_t> dims;
  for (int64_t d : shape) dims.push_back(d < 0 ? 1 : d);
  return at::zeros(dims, options);
}

at::Tensor WeightReader::take_optional(const std::string& name, const std::vector<int64_t>& shape) {
  const std::string full = prefix_ + name;
  if (!shared_->file->contains(full)) return at::Tensor();
  at::Tensor t = shared_->file->tensor(full);
  if (!check_shape(full, t, shape)) return stand_in(shape, options_);
  return convert(t);
}

at::Tensor WeightReader::take(const std::string& name, const std::vector<int64_t>& shape) {
  const std::string full = prefix_ + name;
  if (!shared_->file->contains(full)) {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->problems.push_back(
        "'" + full + "' is missing" +
        (shape.empty() ? std::string() : " (expected " + shape_string(shape) + ")"));
    return stand_in(shape, options_);
  }
  return take_optional(name, shape);
}

at::Tensor WeightReader::take_weight(const std::string& name, const std::vector<int64_t>& shape) {
  const std::string g_name = name + ".parametrizations.weight.original0";
  const std::string v_name = name + ".parametrizations.weight.original1";
  if (!has(g_name) && !has(v_name)) return take(name + ".weight", shape);
  // Weight norm (torch.nn.utils.parametrizations.weight_norm, dim 0): w = g * v / ||v||,
  // the L2 norm taken over every dim but 0, separately for each index of dim 0; no epsilon.
  at::Tensor v = take(v_name, shape);
  std::vector<int64_t> g_shape;
  if (!shape.empty()) {
    g_shape.push_back(shape[0]);
    for (size_t i = 1; i < shape.size(); ++i) g_shape.push_back(1);
  }
  at::Tensor g = take(g_name, g_shape);
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < v.dim(); ++d) dims.push_back(d);
  at::Tensor vf = v.to(at::kFloat);
  at::Tensor norm = dims.empty() ? vf.abs() : vf.pow(2).sum(dims, /*keepdim=*/true).sqrt();
  return (g.to(at::kFloat) * vf / norm).to(options_.dtype().toScalarType());
}

std::vector<std::string> WeightReader::problems() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->problems;
}

void WeightReader::finish() const {
  auto list = problems();
  if (list.empty()) return;
  std::string message = shared_->file->path() + ": " + std::to_string(list.size()) +
                        " tensor(s) missing or mis-shaped:";
  const size_t kMaxListed = 40;
  for (size_t i = 0; i < list.size() && i < kMaxListed; ++i) message += "\n  " + list[i];
  if (list.size() > kMaxListed)
    message += "\n  ... and " + std::to_string(list.size() - kMaxListed) + " more";
  throw Error(ErrorKind::kModelFile, message);
}

}  // namespace chatterbox
