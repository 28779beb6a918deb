// Finding the model directory (the files of HF ResembleAI/chatterbox; see model_dir.h).
#include "io/model_dir.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace chatterbox {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFiles[] = {"t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors", "tokenizer.json",
                                  "conds.pt"};
constexpr const char* kHubRepo = "models--ResembleAI--chatterbox";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);  // follows symlinks: hub snapshots link into blobs/
}

std::vector<std::string> missing_files(const fs::path& dir) {
  std::vector<std::string> missing;
  for (const char* f : kFiles)
    if (!is_file(dir / f)) missing.push_back(f);
  return missing;
}

// The hub cache root, as huggingface_hub resolves it.
std::string hub_cache() {
  std::string hub = env("HF_HUB_CACHE");
  if (!hub.empty()) return hub;
  std::string home = env("HF_HOME");
  if (home.empty()) {
    std::string xdg = env("XDG_CACHE_HOME");
    if (xdg.empty()) {
      std::string user_home = env("HOME");
      if (user_home.empty()) return {};
      xdg = user_home + "/.cache";
    }
    home = xdg + "/huggingface";
  }
  return home + "/hub";
}

nlohmann::json read_optional_json(const fs::path& p) {
  if (!is_file(p)) return nullptr;
  std::ifstream in(p);
  if (!in) throw Error(ErrorKind::kIo, p.string() + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kModelFile, p.string() + ": not valid JSON (" + e.what() + ")");
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

}  // namespace

std::vector<std::string> model_search_path() {
  std::vector<std::string> out;
  std::string explicit_env = env("CHATTERBOX_MODEL_DIR");
  if (!explicit_env.empty()) out.push_back(explicit_env);
  const std::string hub = hub_cache();
  if (hub.empty()) return out;
  const fs::path repo = fs::path(hub) / kHubRepo;
  // refs/main names the snapshot huggingface_hub would use; then every other snapshot,
  // newest first.
  std::string main_rev;
  {
    std::ifstream ref(repo / "refs" / "main");
    if (ref) std::getline(ref, main_rev);
  }
  if (!main_rev.empty()) out.push_back((repo / "snapshots" / main_rev).string());
  std::vector<std::pair<fs::file_time_type, std::string>> snapshots;
  std::error_code ec;
  for (fs::directory_iterator it(repo / "snapshots", ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->path().filename() == main_rev) continue;
    snapshots.emplace_back(fs::last_write_time(it->path(), ec), it->path().string());
  }
  std::sort(snapshots.begin(), snapshots.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& s : snapshots) out.push_back(s.second);
  if (main_rev.empty() && snapshots.empty()) out.push_back((repo / "snapshots" / "<revision>").string());
  return out;
}

ModelFiles locate_model(const std::string& explicit_dir) {
  std::vector<std::string> candidates;
  if (!explicit_dir.empty())
    candidates.push_back(explicit_dir);
  else
    candidates = model_search_path();

  std::string report;
  for (const std::string& c : candidates) {
    const fs::path dir(c);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      report += "\n  " + c + ": no such directory";
      continue;
    }
    auto missing = missing_files(dir);
    if (!missing.empty()) {
      report += "\n  " + c + ": missing " + join(missing);
      continue;
    }
    ModelFiles m;
    m.dir = dir.string();
    m.t3 = (dir / "t3_cfg.safetensors").string();
    m.s3gen = (dir / "s3gen.safetensors").string();
    m.ve = (dir / "ve.safetensors").string();
    m.tokenizer = (dir / "tokenizer.json").string();
    m.conds = (dir / "conds.pt").string();
    m.t3_config = read_optional_json(dir / "t3_cfg.json");
    m.s3gen_config = read_optional_json(dir / "s3gen.json");
    m.ve_config = read_optional_json(dir / "ve.json");
    return m;
  }
  if (candidates.empty())
    report += "\n  (nowhere: no directory given, CHATTERBOX_MODEL_DIR unset and no HOME/HF_HOME for the hub cache)";
  throw Error(ErrorKind::kModelFile,
              "no Chatterbox model found (need " + join({std::begin(kFiles), std::end(kFiles)}) +
                  "); looked in:" + report +
                  "\nDownload it with models/download-model.sh or set CHATTERBOX_MODEL_DIR or pass the model directory explicitly.");
}

}  // namespace chatterbox
