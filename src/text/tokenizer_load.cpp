// Building a Tokenizer from tokenizer.json and tokenizer_config.json. Everything is checked
// here, once: a missing or malformed field gives a whale::Error naming the file and the field
// path (model.merges[12], pre_tokenizer.pretokenizers[2].pattern.Regex, ...).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "text/byte_level.h"
#include "text/tokenizer_impl.h"
#include "text/utf8.h"
#include "util/error.h"
#include "util/json_file.h"

namespace whale {
namespace {

using nlohmann::json;

// Field access with messages of the form "<file>: <field>: <what is wrong>".
struct Fields {
  std::string file;

  const json* find(const json& object, std::string_view key) const {
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }
  const json& require(const json& object, std::string_view key, const std::string& field) const {
    const json* value = find(object, key);
    if (!value) fail("{}: field '{}' is missing", file, field);
    return *value;
  }
  const json& require_object(const json& object, std::string_view key,
                             const std::string& field) const {
    const json& value = require(object, key, field);
    if (!value.is_object())
      fail("{}: {} is {}, expected an object", file, field, json_type_name(value));
    return value;
  }
  std::string require_string(const json& object, std::string_view key,
                             const std::string& field) const {
    const json& value = require(object, key, field);
    if (!value.is_string())
      fail("{}: {} is {}, expected a string", file, field, json_type_name(value));
    return value.get<std::string>();
  }
  bool get_bool(const json& object, std::string_view key, bool fallback,
                const std::string& field) const {
    const json* value = find(object, key);
    if (!value) return fallback;
    if (!value->is_boolean())
      fail("{}: {} is {}, expected true or false", file, field, json_type_name(*value));
    return value->get<bool>();
  }
  std::int32_t token_id(const json& value, const std::string& field) const {
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
        value.get<std::int64_t>() > INT32_MAX)
      fail("{}: {} is {}, expected a token id (an integer 0..2^31-1)", file, field,
           value.is_number_integer() ? std::to_string(value.get<std::int64_t>())
                                     : json_type_name(value));
    return value.get<std::int32_t>();
  }
  Regex pattern(const json& object, const std::string& field) const {
    const json& p = require_object(object, "pattern", field + ".pattern");
    if (const json* re = find(p, "Regex")) {
      if (!re->is_string())
        fail("{}: {}.pattern.Regex is {}, expected a string", file, field, json_type_name(*re));
      return Regex(re->get<std::string>(), Regex::Syntax::oniguruma,
                   fmt::format("{}: {}.pattern.Regex", file, field));
    }
    if (const json* s = find(p, "String")) {
      if (!s->is_string())
        fail("{}: {}.pattern.String is {}, expected a string", file, field, json_type_name(*s));
      return Regex(s->get<std::string>(), Regex::Syntax::literal,
                   fmt::format("{}: {}.pattern.String", file, field));
    }
    fail("{}: {}.pattern has neither 'Regex' nor 'String'", file, field);
  }
};

json read_json_utf8(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("{}: read error", path);
  const std::string text = std::move(buffer).str();
  if (const auto bad = first_invalid_utf8(text))
    fail("{}: not valid UTF-8 at byte {}; tokenizer files are UTF-8 JSON", path, *bad);
  json root = parse_json(text, path);
  if (!root.is_object())
    fail("{}: expected a JSON object at the top level, got {}", path, json_type_name(root));
  return root;
}

void load_normalizer(const Fields& f, const json& j, const std::string& field, Normalizer& out) {
  if (!j.is_object()) fail("{}: {} is {}, expected an object", f.file, field, json_type_name(j));
  const std::string type = f.require_string(j, "type", field + ".type");
  if (type == "Sequence") {
    const json& list = f.require(j, "normalizers", field + ".normalizers");
    if (!list.is_array())
      fail("{}: {}.normalizers is {}, expected an array", f.file, field, json_type_name(list));
    for (std::size_t i = 0; i < list.size(); ++i)
      load_normalizer(f, list[i], fmt::format("{}.normalizers[{}]", field, i), out);
  } else if (type == "Replace") {
    out.add_replace(f.pattern(j, field), f.require_string(j, "content", field + ".content"));
  } else if (type == "Prepend") {
    out.add_prepend(f.require_string(j, "prepend", field + ".prepend"));
  } else if (type == "Strip") {
    out.add_strip(f.get_bool(j, "strip_left", true, field + ".strip_left"),
                  f.get_bool(j, "strip_right", true, field + ".strip_right"));
  } else if (type == "NFC") {
    out.add_unicode(Normalizer::UnicodeForm::nfc);
  } else if (type == "NFD") {
    out.add_unicode(Normalizer::UnicodeForm::nfd);
  } else if (type == "NFKC") {
    out.add_unicode(Normalizer::UnicodeForm::nfkc);
  } else if (type == "NFKD") {
    out.add_unicode(Normalizer::UnicodeForm::nfkd);
  } else {
    fail(
        "{}: {}.type is \"{}\"; whale supports the normalizers Sequence, Replace, Prepend, "
        "Strip, NFC, NFD, NFKC and NFKD",
        f.file, field, type);
  }
}

void load_pre_tokenizer(const Fields& f, const json& j, const std::string& field,
                        PreTokenizer& out) {
  if (!j.is_object()) fail("{}: {} is {}, expected an object", f.file, field, json_type_name(j));
  const std::string type = f.require_string(j, "type", field + ".type");
  if (type != "Sequence" && out.byte_level())
    fail("{}: {}: whale supports ByteLevel only as the last pre-tokenizer", f.file, field);
  if (type == "Sequence") {
    const json& list = f.require(j, "pretokenizers", field + ".pretokenizers");
    if (!list.is_array())
      fail("{}: {}.pretokenizers is {}, expected an array", f.file, field, json_type_name(list));
    for (std::size_t i = 0; i < list.size(); ++i)
      load_pre_tokenizer(f, list[i], fmt::format("{}.pretokenizers[{}]", field, i), out);
  } else if (type == "Split") {
    const std::string name = f.require_string(j, "behavior", field + ".behavior");
    SplitBehavior behavior;
    if (name == "Removed")
      behavior = SplitBehavior::removed;
    else if (name == "Isolated")
      behavior = SplitBehavior::isolated;
    else if (name == "MergedWithPrevious")
      behavior = SplitBehavior::merged_with_previous;
    else if (name == "MergedWithNext")
      behavior = SplitBehavior::merged_with_next;
    else if (name == "Contiguous")
      behavior = SplitBehavior::contiguous;
    else
      fail(
          "{}: {}.behavior is \"{}\", expected Removed, Isolated, MergedWithPrevious, "
          "MergedWithNext or Contiguous",
          f.file, field, name);
    out.add_split(f.pattern(j, field), behavior, f.get_bool(j, "invert", false, field + ".invert"));
  } else if (type == "ByteLevel") {
    // Hugging Face's defaults: add_prefix_space and use_regex are true when absent.
    out.set_byte_level(f.get_bool(j, "add_prefix_space", true, field + ".add_prefix_space"),
                       f.get_bool(j, "use_regex", true, field + ".use_regex"));
  } else {
    fail("{}: {}.type is \"{}\"; whale supports the pre-tokenizers Sequence, Split and ByteLevel",
         f.file, field, type);
  }
}

void check_decoder(const Fields& f, const json& j, const std::string& field) {
  if (!j.is_object()) fail("{}: {} is {}, expected an object", f.file, field, json_type_name(j));
  const std::string type = f.require_string(j, "type", field + ".type");
  if (type == "Sequence") {
    const json& list = f.require(j, "decoders", field + ".decoders");
    if (!list.is_array() || list.empty())
      fail("{}: {}.decoders is {}, expected a non-empty array", f.file, field,
           json_type_name(list));
    for (std::size_t i = 0; i < list.size(); ++i)
      check_decoder(f, list[i], fmt::format("{}.decoders[{}]", field, i));
  } else if (type != "ByteLevel") {
    fail("{}: {}.type is \"{}\"; whale supports the ByteLevel decoder", f.file, field, type);
  }
}

BpeModel load_bpe(const Fields& f, const json& model, bool byte_level) {
  const std::string type =
      model.contains("type") ? f.require_string(model, "type", "model.type") : std::string("BPE");
  if (type != "BPE") fail("{}: model.type is \"{}\"; whale supports \"BPE\" models", f.file, type);
  if (const json* dropout = f.find(model, "dropout");
      dropout && !(dropout->is_number() && dropout->get<double>() == 0.0))
    fail("{}: model.dropout is set; BPE dropout is for training and whale does not support it",
         f.file);
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const json* v = f.find(model, key); v && !(v->is_string() && v->get<std::string>().empty()))
      fail("{}: model.{} is set; whale does not support it", f.file, key);
  }
  const json& vocab = f.require_object(model, "vocab", "model.vocab");
  TokenIdMap ids;
  ids.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items())
    ids.emplace(token, f.token_id(id, fmt::format("model.vocab[\"{}\"]", token)));

  const json& merges = f.require(model, "merges", "model.merges");
  if (!merges.is_array())
    fail("{}: model.merges is {}, expected an array", f.file, json_type_name(merges));
  std::vector<BpeModel::Merge> pairs;
  pairs.reserve(merges.size());
  std::string left, right, joined;
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const json& m = merges[rank];
    if (m.is_string()) {
      // "a b": exactly one space, as Hugging Face requires.
      const std::string& s = m.get_ref<const std::string&>();
      const std::size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        fail("{}: model.merges[{}] is \"{}\", expected two tokens separated by one space", f.file,
             rank, s);
      left.assign(s, 0, space);
      right.assign(s, space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      fail("{}: model.merges[{}] is {}, expected \"a b\" or [\"a\", \"b\"]", f.file, rank,
           json_type_name(m));
    }
    joined = left + right;
    const auto a = ids.find(left), b = ids.find(right), c = ids.find(joined);
    if (a == ids.end() || b == ids.end() || c == ids.end())
      fail("{}: model.merges[{}]: \"{}\" is not in model.vocab", f.file, rank,
           a == ids.end()   ? left
           : b == ids.end() ? right
                            : joined);
    pairs.push_back({a->second, b->second, c->second});
  }

  BpeOptions options;
  options.byte_level = byte_level;
  options.fuse_unk = f.get_bool(model, "fuse_unk", false, "model.fuse_unk");
  options.byte_fallback = f.get_bool(model, "byte_fallback", false, "model.byte_fallback");
  options.ignore_merges = f.get_bool(model, "ignore_merges", false, "model.ignore_merges");
  if (f.find(model, "unk_token")) {
    const std::string unk = f.require_string(model, "unk_token", "model.unk_token");
    const auto it = ids.find(unk);
    if (it == ids.end()) fail("{}: model.unk_token \"{}\" is not in model.vocab", f.file, unk);
    options.unk_id = it->second;
  }
  return BpeModel(std::move(ids), pairs, options);
}

// bos_token / eos_token: a string, an AddedToken object ({"content": ...}) or null.
std::optional<std::int32_t> config_token(const Fields& config, const json& root, const char* key,
                                         const Tokenizer& tokenizer,
                                         const std::string& tokenizer_path) {
  const json* value = config.find(root, key);
  if (!value) return std::nullopt;
  std::string content;
  if (value->is_string()) {
    content = value->get<std::string>();
  } else if (value->is_object()) {
    content = config.require_string(*value, "content", fmt::format("{}.content", key));
  } else {
    fail("{}: {} is {}, expected a string or an object with \"content\"", config.file, key,
         json_type_name(*value));
  }
  const auto id = tokenizer.token_id(content);
  if (!id) fail("{}: {} \"{}\" is not a token of {}", config.file, key, content, tokenizer_path);
  return id;
}

}  // namespace

void Tokenizer::index_tokens(Impl& impl, const std::vector<AddedToken>& added) {
  const TokenIdMap& vocab = impl.model->vocab();
  std::int32_t max_id = -1;
  for (const auto& [token, id] : vocab) max_id = std::max(max_id, id);
  for (const AddedToken& t : added) max_id = std::max(max_id, t.id);
  const auto count = static_cast<std::size_t>(max_id + 1);
  impl.token_text.resize(count);
  impl.token_flags.assign(count, 0);
  for (const auto& [token, id] : vocab) {
    impl.token_text[static_cast<std::size_t>(id)] = token;
    impl.token_flags[static_cast<std::size_t>(id)] = Impl::kHasToken;
  }
  RegexScratch scratch;
  std::string normalized;
  for (const AddedToken& t : added) {
    const auto id = static_cast<std::size_t>(t.id);
    impl.token_text[id] = t.content;
    impl.token_flags[id] = Impl::kHasToken | (t.special ? Impl::kSpecial : 0);
    impl.added_ids.insert_or_assign(t.content, t.id);
    if (t.normalized) {
      impl.normalizer.apply(t.content, scratch, normalized);
      impl.normalized_tokens.add(normalized, t);
    } else {
      impl.raw_tokens.add(t.content, t);
    }
  }
  // The ByteLevel decoder: each token's characters back to bytes, or the token's own UTF-8
  // when it has characters outside the byte alphabet (Hugging Face does the same).
  impl.token_bytes.resize(count);
  for (std::size_t id = 0; id < count; ++id) {
    const std::string& text = impl.token_text[id];
    if (!append_bytes_from_byte_level(impl.token_bytes[id], text)) impl.token_bytes[id] = text;
  }
}

Tokenizer Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool is_folder = fs::is_directory(path, ec);
  const fs::path json_path = is_folder ? fs::path(path) / "tokenizer.json" : fs::path(path);
  const fs::path config_path = json_path.parent_path() / "tokenizer_config.json";
  if (!fs::exists(json_path, ec))
    fail("{}: no such file{}", json_path.string(),
         is_folder ? " (the folder has no tokenizer.json)" : "");

  auto impl = std::make_unique<Impl>();
  impl->path = json_path.string();
  const Fields f{impl->path};
  const json root = read_json_utf8(impl->path);

  // Pre-tokenizer first: whether it ends in ByteLevel decides what the model's words are.
  if (const json* j = f.find(root, "pre_tokenizer"))
    load_pre_tokenizer(f, *j, "pre_tokenizer", impl->pre_tokenizer);
  if (const json* j = f.find(root, "normalizer"))
    load_normalizer(f, *j, "normalizer", impl->normalizer);
  check_decoder(f, f.require(root, "decoder", "decoder"), "decoder");

  const json& model = f.require_object(root, "model", "model");
  impl->model.emplace(load_bpe(f, model, impl->pre_tokenizer.byte_level()));

  std::vector<AddedToken> added;
  if (const json* list = f.find(root, "added_tokens")) {
    if (!list->is_array())
      fail("{}: added_tokens is {}, expected an array", f.file, json_type_name(*list));
    for (std::size_t i = 0; i < list->size(); ++i) {
      const json& t = (*list)[i];
      const std::string field = fmt::format("added_tokens[{}]", i);
      if (!t.is_object())
        fail("{}: {} is {}, expected an object", f.file, field, json_type_name(t));
      AddedToken token;
      token.id = f.token_id(f.require(t, "id", field + ".id"), field + ".id");
      token.content = f.require_string(t, "content", field + ".content");
      if (token.content.empty()) fail("{}: {}.content is empty", f.file, field);
      token.single_word = f.get_bool(t, "single_word", false, field + ".single_word");
      token.lstrip = f.get_bool(t, "lstrip", false, field + ".lstrip");
      token.rstrip = f.get_bool(t, "rstrip", false, field + ".rstrip");
      token.special = f.get_bool(t, "special", false, field + ".special");
      token.normalized = f.get_bool(t, "normalized", !token.special, field + ".normalized");
      added.push_back(std::move(token));
    }
  }

  index_tokens(*impl, added);

  Tokenizer tokenizer(std::move(impl));
  Impl& self = *tokenizer.impl_;
  if (fs::exists(config_path, ec)) {
    const Fields config{config_path.string()};
    const json root_config = read_json_utf8(config.file);
    self.add_bos = config.get_bool(root_config, "add_bos_token", false, "add_bos_token");
    self.add_eos = config.get_bool(root_config, "add_eos_token", false, "add_eos_token");
    self.bos = config_token(config, root_config, "bos_token", tokenizer, self.path);
    self.eos = config_token(config, root_config, "eos_token", tokenizer, self.path);
    if (self.add_bos && !self.bos)
      fail("{}: add_bos_token is true but bos_token is not set", config.file);
    if (self.add_eos && !self.eos)
      fail("{}: add_eos_token is true but eos_token is not set", config.file);
  }
  return tokenizer;
}

}  // namespace whale
