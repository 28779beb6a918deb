// Port of chatterbox/models/tokenizers/tokenizer.py EnTokenizer.text_to_tokens, with the encode
// path of HF `tokenizers` (AddedVocabulary split, Whitespace pre-tokenizer, models::bpe::Word
// merge loop) re-implemented for the subset of the format the English tokenizer.json uses.
#include "text/tokenizer.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "text/added_tokens.h"
#include "text/unicode.h"

namespace chatterbox {
namespace {

constexpr char kSpaceToken[] = "[SPACE]";

[[noreturn]] void bad_file(const std::string& what, const std::string& message) {
  throw Error(ErrorKind::kModelFile, what + ": " + message);
}

}  // namespace

TextTokenizer TextTokenizer::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kModelFile, path + ": cannot open tokenizer file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::kIo, path + ": read failed");
  return from_json_text(buffer.str(), path);
}

TextTokenizer TextTokenizer::from_json_text(const std::string& json_text, const std::string& what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    bad_file(what, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    bad_file(what, "no \"model\" object (not a HF tokenizers file)");
  const auto& model = j["model"];
  if (model.contains("type") && model["type"] != "BPE")
    bad_file(what, "model type is " + model["type"].dump() + ", only BPE is supported");
  // Options that would change the encoding and that this re-implementation does not do: refuse
  // them instead of producing silently different ids.
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && !model[key].is_null() && model[key] != "")
      bad_file(what, std::string("BPE option ") + key + " is not supported");
  if (model.contains("byte_fallback") && model["byte_fallback"] == true)
    bad_file(what, "BPE byte_fallback is not supported");
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"] != 0.0)
    bad_file(what, "BPE dropout is not supported at inference");
  if (j.contains("normalizer") && !j["normalizer"].is_null())
    bad_file(what, "a normalizer is not supported (the English tokenizer has none)");
  if (j.contains("pre_tokenizer") && !j["pre_tokenizer"].is_null() &&
      (!j["pre_tokenizer"].is_object() || j["pre_tokenizer"].value("type", "") != "Whitespace"))
    bad_file(what, "pre_tokenizer " + j["pre_tokenizer"].dump() +
                       " is not supported (expected Whitespace)");

  TextTokenizer tok;
  if (!model.contains("vocab") || !model["vocab"].is_object())
    bad_file(what, "model has no vocab object");
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > (1 << 24))
      bad_file(what, "vocab entry '" + it.key() + "' has no valid id");
    const int64_t id = it.value().get<int64_t>();
    std::u32string token;
    try {
      token = decode_utf8(it.key());
    } catch (const Error&) {
      bad_file(what, "vocab entry is not valid UTF-8");
    }
    tok.vocab_[token] = id;
    if (token.size() == 1) tok.char_ids_[token[0]] = id;
    tok.vocab_size_ = std::max(tok.vocab_size_, id + 1);
  }

  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const auto& a : j["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
          !a.contains("content") || !a["content"].is_string())
        bad_file(what, "malformed added_tokens entry " + a.dump());
      AddedToken t;
      t.id = a["id"].get<int64_t>();
      if (t.id < 0 || t.id > (1 << 24)) bad_file(what, "added token id out of range: " + a.dump());
      try {
        t.content = decode_utf8(a["content"].get<std::string>());
      } catch (const Error&) {
        bad_file(what, "added token is not valid UTF-8");
      }
      if (t.content.empty()) bad_file(what, "empty added token");
      if (a.value("single_word", false))
        bad_file(what, "single_word added tokens are not supported");
      t.lstrip = a.value("lstrip", false);
      t.rstrip = a.value("rstrip", false);
      tok.vocab_[t.content] = t.id;
      tok.vocab_size_ = std::max(tok.vocab_size_, t.id + 1);
      tok.added_.push_back(std::move(t));
    }
  }
  // Longest first, so the first hit at a position is the longest (leftmost-longest matching).
  std::stable_sort(
      tok.added_.begin(), tok.added_.end(),
      [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });

  if (model.contains("merges") && !model["merges"].is_array())
    bad_file(what, "merges is not an array");
  if (model.contains("merges")) {
    for (const auto& m : model["merges"]) {
      std::string a, b;
      if (m.is_string()) {  // "a b" (tokenizers < 0.20)
        const std::string s = m.get<std::string>();
        const size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
          bad_file(what, "merge \"" + s + "\" is not two tokens separated by one space");
        a = s.substr(0, space);
        b = s.substr(space + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() &&
                 m[1].is_string()) {  // ["a", "b"]
        a = m[0].get<std::string>();
        b = m[1].get<std::string>();
      } else {
        bad_file(what, "malformed merge " + m.dump());
      }
      std::u32string ua, ub;
      try {
        ua = decode_utf8(a);
        ub = decode_utf8(b);
      } catch (const Error&) {
        bad_file(what, "merge is not valid UTF-8");
      }
      auto ia = tok.vocab_.find(ua), ib = tok.vocab_.find(ub), ic = tok.vocab_.find(ua + ub);
      if (ia == tok.vocab_.end() || ib == tok.vocab_.end())
        bad_file(what, "merge \"" + a + " " + b + "\" uses a token that is not in the vocab");
      if (ic == tok.vocab_.end())
        bad_file(what, "merge result \"" + a + b + "\" is not in the vocab");
      tok.merges_.add(ia->second, ib->second, ic->second);
    }
  }

  auto find_special = [&](const char* name) -> int64_t {
    auto it = tok.vocab_.find(decode_utf8(name));
    return it == tok.vocab_.end() ? -1 : it->second;
  };
  tok.start_id_ = find_special("[START]");
  tok.stop_id_ = find_special("[STOP]");
  tok.space_id_ = find_special(kSpaceToken);
  tok.unk_id_ = -1;
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    auto it = tok.vocab_.find(decode_utf8(model["unk_token"].get<std::string>()));
    if (it == tok.vocab_.end())
      bad_file(what, "unk_token " + model["unk_token"].dump() + " is not in the vocab");
    tok.unk_id_ = it->second;
  }
  if (tok.start_id_ < 0) bad_file(what, "no [START] token");
  if (tok.stop_id_ < 0) bad_file(what, "no [STOP] token");
  if (tok.space_id_ < 0) bad_file(what, "no [SPACE] token");
  if (tok.unk_id_ < 0)
    bad_file(what, "no unk_token (characters outside the vocab could not be encoded)");
  // [SPACE] is normally an added token (matched whole); if a file lists it only in the vocab,
  // HF splits the literal "[SPACE]" into "[", "SPACE", "]" pieces, and so does encode() here.

  tok.id_to_token_.assign(static_cast<size_t>(tok.vocab_size_), std::string());
  for (const auto& [token, id] : tok.vocab_)
    tok.id_to_token_[static_cast<size_t>(id)] = encode_utf8(token);
  return tok;
}

// One word: its characters' symbols (unknown ones as [UNK]), merged by rank.
void TextTokenizer::encode_word(const std::u32string& text, size_t begin, size_t end,
                                std::vector<int64_t>& out) const {
  std::vector<int64_t> ids;
  ids.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    auto it = char_ids_.find(text[i]);
    ids.push_back(it == char_ids_.end() ? unk_id_ : it->second);
  }
  merges_.merge_all(ids, out);
}

// The Whitespace pre-tokenizer: pieces are maximal runs of \w or of [^\w\s]; whitespace is
// dropped.
void TextTokenizer::encode_piece(const std::u32string& text, size_t begin, size_t end,
                                 std::vector<int64_t>& out) const {
  size_t i = begin;
  while (i < end) {
    if (is_regex_space(text[i])) {
      ++i;
      continue;
    }
    const bool word = is_word_char(text[i]);
    size_t j = i + 1;
    while (j < end && !is_regex_space(text[j]) && is_word_char(text[j]) == word) ++j;
    encode_word(text, i, j, out);
    i = j;
  }
}

std::vector<int64_t> TextTokenizer::encode(const std::string& normalized) const {
  // EnTokenizer.text_to_tokens: text.replace(' ', '[SPACE]') before encoding. Done on code
  // points: [SPACE] is then found as an added token like any other.
  const std::u32string raw = decode_utf8(normalized);
  std::u32string text;
  text.reserve(raw.size() + raw.size() / 4);
  static const std::u32string kSpace = U"[SPACE]";
  for (char32_t c : raw) {
    if (c == U' ')
      text += kSpace;
    else
      text.push_back(c);
  }

  std::vector<int64_t> ids;
  ids.reserve(text.size() / 2 + 1);
  split_at_added_tokens(
      text, 0, text.size(), added_, [](const AddedToken&) { return true; },
      [&](size_t b, size_t e) { encode_piece(text, b, e, ids); },
      [&](const AddedToken& a) { ids.push_back(a.id); });
  return ids;
}

std::vector<int64_t> TextTokenizer::wrap_for_t3(std::vector<int64_t> ids) const {
  ids.insert(ids.begin(), start_id_);
  ids.push_back(stop_id_);
  return ids;
}

std::string TextTokenizer::token(int64_t id) const {
  return id >= 0 && id < vocab_size_ ? id_to_token_[static_cast<size_t>(id)] : std::string();
}

std::string TextTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    if (id == space_id_)
      out += ' ';
    else if (id >= 0 && id < vocab_size_)
      out += id_to_token_[static_cast<size_t>(id)];
    else
      out += "[?]";
  }
  return out;
}

}  // namespace chatterbox
