// GPT-2 byte-level BPE as transformers' GPT2Tokenizer(Fast) builds it from a model directory and
// HF `tokenizers` runs it (AddedVocabulary split, ByteLevel pre-tokenizer with the GPT-2 regex,
// models::bpe::Word merge loop, ByteLevel decoder).
#include "text/gpt2_tokenizer.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "text/added_tokens.h"
#include "text/unicode.h"

namespace chatterbox {
namespace {

constexpr const char* kVocabFile = "vocab.json";
constexpr const char* kMergesFile = "merges.txt";
constexpr const char* kAddedTokensFile = "added_tokens.json";
constexpr const char* kSpecialTokensMapFile = "special_tokens_map.json";
constexpr const char* kConfigFile = "tokenizer_config.json";
constexpr int64_t kMaxId = int64_t{1} << 21;  // far above any GPT-2 vocabulary; bounds the id table

[[noreturn]] void bad_file(const std::string& what, const char* file, const std::string& message) {
  throw Error(ErrorKind::kModelFile, what + "/" + file + ": " + message);
}

// GPT-2's bytes_to_unicode(): printable bytes stand for themselves, the other 68 bytes are mapped
// in order to U+0100.. so that every byte is a visible character ("Ġ" = space).
struct ByteAlphabet {
  char32_t byte_to_char[256];
  std::unordered_map<char32_t, uint8_t> char_to_byte;
  ByteAlphabet() {
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable =
          (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      byte_to_char[b] = printable ? static_cast<char32_t>(b) : next++;
      char_to_byte[byte_to_char[b]] = static_cast<uint8_t>(b);
    }
  }
};

const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}

nlohmann::json parse_json(const std::string& text, const std::string& what, const char* file) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    bad_file(what, file, std::string("not valid JSON (") + e.what() + ")");
  }
}

// An optional true/false field of an added token; anything else is an error, not a guess.
bool flag(const nlohmann::json& entry, const char* key, bool fallback, const std::string& what,
          const char* file) {
  if (!entry.contains(key) || entry[key].is_null()) return fallback;
  if (!entry[key].is_boolean())
    bad_file(what, file, std::string(key) + " is not true/false in " + entry.dump());
  return entry[key].get<bool>();
}

// A special-token entry: "<|endoftext|>", {"content": "<|endoftext|>", ...} or null.
bool token_content(const nlohmann::json& v, std::string& out) {
  if (v.is_string()) {
    out = v.get<std::string>();
    return true;
  }
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    out = v["content"].get<std::string>();
    return true;
  }
  return false;
}

// Rust String::from_utf8_lossy: each maximal prefix of a valid sequence that cannot be completed,
// and each byte that cannot start one, becomes one U+FFFD.
std::string utf8_lossy(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b0 = s[i];
    if (b0 < 0x80) {
      out.push_back(static_cast<char>(b0));
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    }
    size_t valid = 1;
    if (len > 0 && i + 1 < n && s[i + 1] >= lo && s[i + 1] <= hi) {
      valid = 2;
      while (valid < len && i + valid < n && (s[i + valid] & 0xC0) == 0x80) ++valid;
    }
    if (len > 0 && valid == len) {
      out.append(bytes, i, len);
    } else {
      out += "\xEF\xBF\xBD";
    }
    i += valid;
  }
  return out;
}

}  // namespace

Gpt2Tokenizer Gpt2Tokenizer::from_directory(const std::string& dir) {
  auto read = [&](const char* name, bool required) -> std::string {
    const std::string path = dir + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      if (required) throw Error(ErrorKind::kModelFile, path + ": cannot open tokenizer file");
      return std::string();
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) throw Error(ErrorKind::kIo, path + ": read failed");
    return buffer.str();
  };
  Gpt2TokenizerFiles files;
  files.vocab_json = read(kVocabFile, true);
  files.merges_txt = read(kMergesFile, true);
  files.added_tokens_json = read(kAddedTokensFile, false);
  files.special_tokens_map_json = read(kSpecialTokensMapFile, false);
  files.tokenizer_config_json = read(kConfigFile, false);
  return from_texts(files, dir);
}

Gpt2Tokenizer Gpt2Tokenizer::from_texts(const Gpt2TokenizerFiles& files, const std::string& what) {
  Gpt2Tokenizer tok;
  std::unordered_map<int64_t, std::string> id_owner;  // id -> token, to catch two tokens on one id

  // vocab.json: {"token": id}.
  const nlohmann::json vocab = parse_json(files.vocab_json, what, kVocabFile);
  if (!vocab.is_object() || vocab.empty())
    bad_file(what, kVocabFile, "not a non-empty {token: id} object");
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > kMaxId)
      bad_file(what, kVocabFile, "entry " + nlohmann::json(it.key()).dump() + " has no valid id");
    const int64_t id = it.value().get<int64_t>();
    if (!id_owner.emplace(id, it.key()).second)
      bad_file(what, kVocabFile, "id " + std::to_string(id) + " is used by two tokens");
    tok.vocab_[it.key()] = id;
    tok.vocab_size_ = std::max(tok.vocab_size_, id + 1);
  }
  const auto& alphabet = byte_alphabet();
  for (int b = 0; b < 256; ++b) {
    std::string symbol;
    append_utf8(symbol, alphabet.byte_to_char[b]);
    auto it = tok.vocab_.find(symbol);
    if (it == tok.vocab_.end())
      bad_file(what, kVocabFile,
               "the byte-level symbol " + nlohmann::json(symbol).dump() + " of byte " +
                   std::to_string(b) + " is missing (not a GPT-2 byte-level vocabulary)");
    tok.byte_ids_[b] = it->second;
  }

  // merges.txt: "#version" header, then one "left right" pair per line, rank = order.
  {
    std::istringstream lines(files.merges_txt);
    std::string line;
    int line_no = 0;
    while (std::getline(lines, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line.rfind("#version", 0) == 0) continue;
      const size_t space = line.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
          line.find(' ', space + 1) != std::string::npos)
        bad_file(what, kMergesFile,
                 "line " + std::to_string(line_no) + " is not two tokens separated by one space");
      const std::string left = line.substr(0, space), right = line.substr(space + 1);
      auto il = tok.vocab_.find(left), ir = tok.vocab_.find(right),
           im = tok.vocab_.find(left + right);
      if (il == tok.vocab_.end() || ir == tok.vocab_.end())
        bad_file(what, kMergesFile,
                 "line " + std::to_string(line_no) + " uses a token that is not in vocab.json");
      if (im == tok.vocab_.end())
        bad_file(what, kMergesFile,
                 "line " + std::to_string(line_no) + ": merge result " +
                     nlohmann::json(left + right).dump() + " is not in vocab.json");
      tok.merges_.add(il->second, ir->second, im->second);
    }
  }

  nlohmann::json config = nlohmann::json::object();
  if (!files.tokenizer_config_json.empty()) {
    config = parse_json(files.tokenizer_config_json, what, kConfigFile);
    if (!config.is_object()) bad_file(what, kConfigFile, "not a JSON object");
  }
  nlohmann::json special_map = nlohmann::json::object();
  if (!files.special_tokens_map_json.empty()) {
    special_map = parse_json(files.special_tokens_map_json, what, kSpecialTokensMapFile);
    if (!special_map.is_object()) bad_file(what, kSpecialTokensMapFile, "not a JSON object");
  }

  // Options that would change the ids and that this re-implementation does not do: refuse them
  // instead of producing silently different ids.
  if (config.contains("tokenizer_class") && config["tokenizer_class"].is_string()) {
    const std::string cls = config["tokenizer_class"].get<std::string>();
    if (cls != "GPT2Tokenizer" && cls != "GPT2TokenizerFast")
      bad_file(what, kConfigFile, "tokenizer_class " + cls + " is not a GPT-2 tokenizer");
  }
  for (const char* key : {"add_prefix_space", "add_bos_token", "add_eos_token", "do_lower_case"})
    if (config.contains(key) && config[key] == true)
      bad_file(what, kConfigFile, std::string(key) + " = true is not supported");

  // Added tokens: tokenizer_config.json's added_tokens_decoder (id -> properties) and the older
  // added_tokens.json (content -> id).
  auto add_token = [&](const char* file, const std::string& content, int64_t id, bool special,
                       bool normalized, bool lstrip, bool rstrip) {
    if (content.empty()) bad_file(what, file, "empty added token");
    std::u32string content32;
    try {
      content32 = decode_utf8(content);
    } catch (const Error&) {
      bad_file(what, file, "added token is not valid UTF-8");
    }
    for (auto& a : tok.added_) {
      if (a.content_utf8 == content) {
        if (a.id != id)
          bad_file(what, file,
                   "added token " + nlohmann::json(content).dump() + " has id " +
                       std::to_string(id) + " but " + std::to_string(a.id) + " elsewhere");
        a.special = a.special || special;
        return;
      }
    }
    auto in_vocab = tok.vocab_.find(content);
    if (in_vocab != tok.vocab_.end() && in_vocab->second != id)
      bad_file(what, file,
               "added token " + nlohmann::json(content).dump() + " has id " + std::to_string(id) +
                   " but vocab.json gives it " + std::to_string(in_vocab->second));
    auto owner = id_owner.find(id);
    if (owner != id_owner.end() && owner->second != content)
      bad_file(what, file,
               "id " + std::to_string(id) + " of added token " + nlohmann::json(content).dump() +
                   " already belongs to " + nlohmann::json(owner->second).dump());
    id_owner[id] = content;
    tok.added_.push_back({std::move(content32), content, id, special, normalized, lstrip, rstrip});
    tok.vocab_size_ = std::max(tok.vocab_size_, id + 1);
  };

  if (config.contains("added_tokens_decoder")) {
    const auto& decoder = config["added_tokens_decoder"];
    if (!decoder.is_object()) bad_file(what, kConfigFile, "added_tokens_decoder is not an object");
    std::vector<std::pair<int64_t, const nlohmann::json*>> entries;
    for (auto it = decoder.begin(); it != decoder.end(); ++it) {
      int64_t id = -1;
      try {
        size_t used = 0;
        id = std::stoll(it.key(), &used);
        if (used != it.key().size()) id = -1;
      } catch (const std::exception&) {
      }
      if (id < 0 || id > kMaxId)
        bad_file(what, kConfigFile, "added_tokens_decoder key " + it.key() + " is not an id");
      if (!it.value().is_object() || !it.value().contains("content") ||
          !it.value()["content"].is_string())
        bad_file(what, kConfigFile, "added_tokens_decoder entry " + it.key() + " has no content");
      entries.emplace_back(id, &it.value());
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [id, entry] : entries) {
      const auto& e = *entry;
      if (flag(e, "single_word", false, what, kConfigFile))
        bad_file(what, kConfigFile,
                 "single_word added tokens are not supported (id " + std::to_string(id) + ")");
      const bool special = flag(e, "special", false, what, kConfigFile);
      add_token(kConfigFile, e["content"].get<std::string>(), id, special,
                flag(e, "normalized", !special, what, kConfigFile),
                flag(e, "lstrip", false, what, kConfigFile),
                flag(e, "rstrip", false, what, kConfigFile));
    }
  }

  // Special tokens: tokenizer_config.json, overridden by special_tokens_map.json.
  static const char* const kSpecialKeys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                             "pad_token", "cls_token", "mask_token"};
  std::unordered_map<std::string, std::string> specials;  // key -> content
  std::vector<std::string> extra_specials;
  for (const nlohmann::json* source : {&config, &special_map}) {
    for (const char* key : kSpecialKeys) {
      std::string content;
      if (source->contains(key) && token_content((*source)[key], content)) specials[key] = content;
    }
    for (const char* key : {"additional_special_tokens", "extra_special_tokens"}) {
      if (!source->contains(key) || !(*source)[key].is_array()) continue;
      extra_specials.clear();
      for (const auto& v : (*source)[key]) {
        std::string content;
        if (token_content(v, content)) extra_specials.push_back(content);
      }
    }
  }
  std::vector<std::string> special_contents;
  for (const char* key : kSpecialKeys)
    if (specials.count(key)) special_contents.push_back(specials[key]);
  special_contents.insert(special_contents.end(), extra_specials.begin(), extra_specials.end());

  if (!files.added_tokens_json.empty()) {
    const nlohmann::json added = parse_json(files.added_tokens_json, what, kAddedTokensFile);
    if (!added.is_object()) bad_file(what, kAddedTokensFile, "not a {token: id} object");
    std::vector<std::pair<int64_t, std::string>> entries;
    for (auto it = added.begin(); it != added.end(); ++it) {
      if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
          it.value().get<int64_t>() > kMaxId)
        bad_file(what, kAddedTokensFile,
                 "entry " + nlohmann::json(it.key()).dump() + " has no valid id");
      entries.emplace_back(it.value().get<int64_t>(), it.key());
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& [id, content] : entries) {
      const bool special = std::find(special_contents.begin(), special_contents.end(), content) !=
                           special_contents.end();
      add_token(kAddedTokensFile, content, id, special, !special, false, false);
    }
  }

  for (const auto& content : special_contents) {
    auto in_vocab = tok.vocab_.find(content);
    auto added = std::find_if(tok.added_.begin(), tok.added_.end(),
                              [&](const AddedToken& a) { return a.content_utf8 == content; });
    const char* file = files.special_tokens_map_json.empty() ? kConfigFile : kSpecialTokensMapFile;
    if (added != tok.added_.end())
      add_token(file, content, added->id, true, added->normalized, added->lstrip, added->rstrip);
    else if (in_vocab != tok.vocab_.end())
      add_token(file, content, in_vocab->second, true, false, false, false);
    else  // a new token after every existing id, as HF appends it
      add_token(file, content, tok.vocab_size_, true, false, false, false);
  }
  if (specials.count("eos_token")) {
    const std::string& eos = specials["eos_token"];
    for (const auto& a : tok.added_)
      if (a.content_utf8 == eos) tok.eos_id_ = a.id;
  }

  // Longest first, so the first hit at a position is the longest (leftmost-longest matching).
  std::stable_sort(
      tok.added_.begin(), tok.added_.end(),
      [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });

  if (config.contains("model_max_length") && !config["model_max_length"].is_null()) {
    const auto& m = config["model_max_length"];
    if (!m.is_number() || m.get<double>() < 0)
      bad_file(what, kConfigFile, "model_max_length is not a count");
    // transformers writes "no limit" as int(1e30), which JSON readers see as a huge number.
    const double limit = m.get<double>();
    tok.model_max_length_ = limit >= 9.2e18         ? kNoLimit
                            : m.is_number_integer() ? m.get<int64_t>()
                                                    : static_cast<int64_t>(limit);
  }
  if (config.contains("truncation_side")) {
    const auto& side = config["truncation_side"];
    if (side == "left")
      tok.truncate_left_ = true;
    else if (side != "right")
      bad_file(what, kConfigFile,
               "truncation_side " + side.dump() + " is neither \"left\" nor \"right\"");
  }

  tok.id_to_token_.assign(static_cast<size_t>(tok.vocab_size_), std::string());
  tok.id_is_special_.assign(static_cast<size_t>(tok.vocab_size_), 0);
  for (const auto& [token, id] : tok.vocab_) tok.id_to_token_[static_cast<size_t>(id)] = token;
  for (const auto& a : tok.added_) {
    tok.id_to_token_[static_cast<size_t>(a.id)] = a.content_utf8;
    tok.id_is_special_[static_cast<size_t>(a.id)] = a.special ? 1 : 0;
  }
  return tok;
}

// One pre-tokenized piece: its bytes' symbols, merged by rank.
void Gpt2Tokenizer::encode_piece(const std::u32string& text, size_t begin, size_t end,
                                 std::vector<int64_t>& out) const {
  std::string bytes;
  for (size_t i = begin; i < end; ++i) append_utf8(bytes, text[i]);
  std::vector<int64_t> ids;
  ids.reserve(bytes.size());
  for (unsigned char b : bytes) ids.push_back(byte_ids_[b]);
  merges_.merge_all(ids, out);
}

// The ByteLevel pre-tokenizer's regex on one segment between added tokens. The alternatives are
// tried in order at each position, as Oniguruma does (first alternative that matches, not the
// longest); every character is covered by one of them, so pieces tile the segment.
void Gpt2Tokenizer::encode_segment(const std::u32string& text, size_t begin, size_t end,
                                   std::vector<int64_t>& out) const {
  enum Class { kLetter, kNumber, kSpace, kOther };
  auto class_of = [](char32_t c) {
    if (is_letter(c)) return kLetter;
    if (is_number(c)) return kNumber;
    if (is_regex_space(c)) return kSpace;
    return kOther;
  };
  size_t i = begin;
  while (i < end) {
    const char32_t c = text[i];
    size_t j = i;
    // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive)
    if (c == U'\'' && i + 1 < end) {
      const char32_t a = text[i + 1];
      if (a == U's' || a == U't' || a == U'm' || a == U'd') {
        j = i + 2;
      } else if (i + 2 < end) {
        const char32_t b = text[i + 2];
        if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l'))
          j = i + 3;
      }
    }
    if (j == i) {
      const Class cls = class_of(c);
      if (cls != kSpace || (c == U' ' && i + 1 < end && class_of(text[i + 1]) != kSpace)) {
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional ASCII space, then a run of one
        // class.
        const size_t start = cls == kSpace ? i + 1 : i;
        const Class run = class_of(text[start]);
        j = start + 1;
        while (j < end && class_of(text[j]) == run) ++j;
      } else {
        // `\s+(?!\S)` backs off one character when the run is followed by a non-space, so that the
        // last space can prefix the next word; a single space before a word falls through to `\s+`.
        size_t r = i + 1;
        while (r < end && class_of(text[r]) == kSpace) ++r;
        j = (r < end && r - i >= 2) ? r - 1 : r;
      }
    }
    encode_piece(text, i, j, out);
    i = j;
  }
}

// AddedVocabulary::extract_and_normalize: the added tokens with normalized=false (the special ones
// by default) split the text first, then those with normalized=true split what is left (no
// normaliser here, so only this order matters). Matching is leftmost-longest.
void Gpt2Tokenizer::split_added(const std::u32string& text, size_t begin, size_t end,
                                bool normalized_pass, std::vector<int64_t>& out) const {
  split_at_added_tokens(
      text, begin, end, added_,
      [&](const AddedToken& a) { return a.normalized == normalized_pass; },
      [&](size_t b, size_t e) {
        if (normalized_pass)
          encode_segment(text, b, e, out);
        else
          split_added(text, b, e, true, out);
      },
      [&](const AddedToken& a) { out.push_back(a.id); });
}

std::vector<int64_t> Gpt2Tokenizer::encode_untruncated(const std::string& text) const {
  const std::u32string text32 = decode_utf8(text);
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 2 + 1);
  split_added(text32, 0, text32.size(), false, ids);
  return ids;
}

std::vector<int64_t> Gpt2Tokenizer::encode(const std::string& text) const {
  return truncate(encode_untruncated(text));
}

std::vector<int64_t> Gpt2Tokenizer::truncate(std::vector<int64_t> ids) const {
  if (static_cast<uint64_t>(ids.size()) > static_cast<uint64_t>(model_max_length_)) {
    const auto keep = static_cast<size_t>(model_max_length_);
    if (truncate_left_)
      ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(keep));
    else
      ids.resize(keep);
  }
  return ids;
}

std::string Gpt2Tokenizer::token(int64_t id) const {
  if (id < 0 || id >= vocab_size_) return std::string();
  return id_to_token_[static_cast<size_t>(id)];
}

std::string Gpt2Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  const auto& alphabet = byte_alphabet();
  std::string bytes;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size_) continue;
    const std::string& token = id_to_token_[static_cast<size_t>(id)];
    if (token.empty() || (skip_special_tokens && id_is_special_[static_cast<size_t>(id)])) continue;
    // ByteLevel decoder: a token made only of byte-level characters gives those bytes; any other
    // token (e.g. an added "[clear throat]" with a plain space) is taken as its own UTF-8.
    std::string mapped;
    bool all_bytes = true;
    for (char32_t c : decode_utf8(token)) {
      auto it = alphabet.char_to_byte.find(c);
      if (it == alphabet.char_to_byte.end()) {
        all_bytes = false;
        break;
      }
      mapped.push_back(static_cast<char>(it->second));
    }
    bytes += all_bytes ? mapped : token;
  }
  return utf8_lossy(bytes);
}

}  // namespace chatterbox
