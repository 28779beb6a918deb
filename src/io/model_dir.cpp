// Finding the model directory and recognising its variant (see model_dir.h).
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

// What each variant needs, and where the Hugging Face cache keeps it. Order = preference when one
// directory holds complete files of several variants.
struct VariantLayout {
  ModelVariant variant;
  const char* label;
  const char* t3;
  const char* s3gen;
  std::vector<const char*> others;  // required besides T3 and S3Gen
  const char* optional_conds;       // conds.pt where it is optional, else nullptr
  const char* hub_repo;
  const char* tokenizer;     // the text tokenizer file, or nullptr: the directory (GPT-2 files)
  const char* missing_hint;  // said after the missing files, or ""
};

const std::vector<VariantLayout>& variant_layouts() {
  static const std::vector<VariantLayout> layouts = {
      {ModelVariant::kEnglish,
       "English",
       "t3_cfg.safetensors",
       "s3gen.safetensors",
       {"ve.safetensors", "tokenizer.json", "conds.pt"},
       nullptr,
       "models--ResembleAI--chatterbox",
       "tokenizer.json",
       ""},
      {ModelVariant::kTurbo,
       "Turbo",
       "t3_turbo_v1.safetensors",
       "s3gen_meanflow.safetensors",
       {"ve.safetensors", "vocab.json", "merges.txt"},
       "conds.pt",
       "models--ResembleAI--chatterbox-turbo",
       nullptr,
       ""},
      {ModelVariant::kNano,
       "Nano",
       "t3_nano_v1.safetensors",
       "s3gen_meanflow.safetensors",
       {"ve.safetensors", "vocab.json", "merges.txt"},
       "conds.pt",
       "models--ResembleAI--chatterbox-nano",
       nullptr,
       ""},
      // The multilingual files sit in the English repository beside the English ones; where a
      // directory holds both complete, the English model is used (listed first). S3Gen and the
      // voice encoder are the English model's, read from their .safetensors copies.
      {ModelVariant::kMultilingual,
       "Multilingual",
       "t3_mtl23ls_v2.safetensors",
       "s3gen.safetensors",
       {"ve.safetensors", "grapheme_mtl_merged_expanded_v1.json"},
       "conds.pt",
       "models--ResembleAI--chatterbox",
       "grapheme_mtl_merged_expanded_v1.json",
       " (the multilingual model shares the English S3Gen and voice encoder and reads their "
       ".safetensors "
       "files, not s3gen.pt/ve.pt; models/download-model.sh --variant multilingual fetches them)"},
  };
  return layouts;
}

const VariantLayout& layout_of(ModelVariant variant) {
  for (const auto& l : variant_layouts())
    if (l.variant == variant) return l;
  throw Error(ErrorKind::kInvalidInput, std::string("no file layout for the ") +
                                            model_variant_name(variant) + " model in this version");
}

std::vector<std::string> required_files(const VariantLayout& l) {
  std::vector<std::string> files = {l.t3, l.s3gen};
  files.insert(files.end(), l.others.begin(), l.others.end());
  return files;
}

// "x.safetensors" -> "x.json": the optional hyper-parameter file of a weight file.
std::string json_beside(const std::string& weights_name) {
  return weights_name.substr(0, weights_name.rfind('.')) + ".json";
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);  // follows symlinks: hub snapshots link into blobs/
}

std::vector<std::string> missing_files(const fs::path& dir, const VariantLayout& layout) {
  std::vector<std::string> missing;
  for (const std::string& f : required_files(layout))
    if (!is_file(dir / f)) missing.push_back(f);
  return missing;
}

// The file names in `dir`, for an error message (at most 12).
std::string listing(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  if (names.empty()) return "an empty directory";
  std::string out = "found ";
  for (size_t i = 0; i < names.size() && i < 12; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 12) out += ", ... (" + std::to_string(names.size()) + " entries)";
  return out;
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

namespace {

// Snapshots of one hub repository, the one refs/main names first, then the newest first.
std::vector<std::string> hub_snapshots(const fs::path& repo) {
  std::vector<std::string> out;
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
  std::sort(snapshots.begin(), snapshots.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& s : snapshots) out.push_back(s.second);
  return out;
}

}  // namespace

std::string find_cangjie_table(const std::string& dir_name) {
  const fs::path dir(dir_name);
  if (is_file(dir / kCangjieTable)) return (dir / kCangjieTable).string();
  // Where the reference's hf_hub_download(..., cache_dir=<model dir>) puts it.
  for (const std::string& snapshot : hub_snapshots(dir / "models--ResembleAI--chatterbox"))
    if (is_file(fs::path(snapshot) / kCangjieTable))
      return (fs::path(snapshot) / kCangjieTable).string();
  return {};
}

std::vector<std::string> model_search_path() {
  std::vector<std::string> out;
  std::string explicit_env = env("CHATTERBOX_MODEL_DIR");
  if (!explicit_env.empty()) out.push_back(explicit_env);
  const std::string hub = hub_cache();
  if (hub.empty()) return out;
  std::vector<std::string> repos_seen;
  for (const auto& layout : variant_layouts()) {
    if (std::find(repos_seen.begin(), repos_seen.end(), layout.hub_repo) != repos_seen.end())
      continue;
    repos_seen.push_back(layout.hub_repo);
    const fs::path repo = fs::path(hub) / layout.hub_repo;
    std::vector<std::string> snapshots = hub_snapshots(repo);
    out.insert(out.end(), snapshots.begin(), snapshots.end());
    // The English repository is always named, so that "not found" says where it would be.
    if (snapshots.empty() && layout.variant == ModelVariant::kEnglish)
      out.push_back((repo / "snapshots" / "<revision>").string());
  }
  return out;
}

std::vector<std::string> missing_model_files(const std::string& dir, ModelVariant variant) {
  return missing_files(fs::path(dir), layout_of(variant));
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
    const VariantLayout* found = nullptr;
    std::string why;
    for (const auto& layout : variant_layouts()) {
      if (!is_file(dir / layout.t3)) continue;
      auto missing = missing_files(dir, layout);
      if (missing.empty()) {
        found = &layout;
        break;
      }
      why += std::string(why.empty() ? "" : "; ") + "a " + layout.label + " model (" + layout.t3 +
             ") but missing " + join(missing) + layout.missing_hint;
    }
    if (!found) {
      if (why.empty()) {
        why = listing(dir) + "; no T3 weights of any variant (expected";
        for (const auto& layout : variant_layouts())
          why += std::string(" ") + layout.label + ": " + join(required_files(layout)) + ";";
        why.back() = ')';
      }
      report += "\n  " + c + ": " + why;
      continue;
    }
    ModelFiles m;
    m.dir = dir.string();
    m.variant = found->variant;
    m.t3 = (dir / found->t3).string();
    m.s3gen = (dir / found->s3gen).string();
    m.ve = (dir / "ve.safetensors").string();
    m.tokenizer = found->tokenizer ? (dir / found->tokenizer).string() : dir.string();
    if (found->variant == ModelVariant::kMultilingual) m.cangjie = find_cangjie_table(dir);
    if (!found->optional_conds || is_file(dir / "conds.pt")) m.conds = (dir / "conds.pt").string();
    m.t3_config = read_optional_json(dir / json_beside(found->t3));
    m.s3gen_config = read_optional_json(dir / json_beside(found->s3gen));
    m.ve_config = read_optional_json(dir / "ve.json");
    return m;
  }
  if (candidates.empty())
    report +=
        "\n  (nowhere: no directory given, CHATTERBOX_MODEL_DIR unset and no HOME/HF_HOME for the "
        "hub cache)";
  throw Error(ErrorKind::kModelFile,
              "no Chatterbox model found (English: " +
                  join(required_files(layout_of(ModelVariant::kEnglish))) +
                  "; Turbo: " + join(required_files(layout_of(ModelVariant::kTurbo))) +
                  ", in models--ResembleAI--chatterbox-turbo in the hub cache; Multilingual: " +
                  join(required_files(layout_of(ModelVariant::kMultilingual))) +
                  "); looked in:" + report +
                  "\nDownload it with models/download-model.sh or set CHATTERBOX_MODEL_DIR or pass "
                  "the model directory explicitly.");
}

}  // namespace chatterbox
