// Building a Tokenizer from a GGUF file's tokenizer.ggml.* metadata. A GGUF names its
// pre-tokenizer instead of spelling it out; the Split patterns below are those of the
// tokenizer.json each name stands for (llama.cpp's converter identifies them by hashing the
// vocabulary), so a GGUF tokenizes exactly as the Hugging Face tokenizer it was made from.
#include <algorithm>
#include <array>
#include <climits>
#include <span>
#include <string_view>

#include "io/gguf.h"
#include "text/byte_level.h"
#include "text/tokenizer_impl.h"
#include "text/utf8.h"
#include "util/error.h"

namespace whale {
namespace {

// GGUF token types (llama.cpp's llama_token_type).
enum TokenType : std::int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

constexpr std::string_view kDeepSeekV3[] = {
    R"(\p{N}{1,3})",
    R"([一-龥぀-ゟ゠-ヿ]+)",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
    "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
};

constexpr std::string_view kDeepSeekLlm[] = {
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
};

constexpr std::string_view kDeepSeekCoder[] = {
    "[\r\n]",
    "\\s?\\p{L}+",
    "\\s?\\p{P}+",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}",
};

constexpr std::string_view kQwen2[] = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};

constexpr std::string_view kLlama3[] = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};

struct PreTokenizerSpec {
  std::string_view name;
  std::span<const std::string_view> splits;  // Split(pattern, Isolated) steps, then ByteLevel
  bool gpt2_regex = false;                   // ByteLevel(use_regex) instead of Splits
  bool ignore_merges = false;
  bool add_bos = false;                      // when the file does not say
};

constexpr PreTokenizerSpec kPreTokenizers[] = {
    {"deepseek-v3", kDeepSeekV3},
    {"deepseek-llm", kDeepSeekLlm},
    {"deepseek-coder", kDeepSeekCoder},
    {"qwen2", kQwen2},
    {"deepseek-r1-qwen", kQwen2},
    {"llama-bpe", kLlama3, false, true, true},
    {"llama3", kLlama3, false, true, true},
    {"llama-v3", kLlama3, false, true, true},
    {"gpt2", {}, true},
    {"default", {}, true},
};

const PreTokenizerSpec& find_pre_tokenizer(const GgufVocabulary& v) {
  for (const PreTokenizerSpec& spec : kPreTokenizers)
    if (spec.name == v.pre) return spec;
  std::string names;
  for (const PreTokenizerSpec& spec : kPreTokenizers)
    names += fmt::format("{}\"{}\"", names.empty() ? "" : ", ", spec.name);
  fail("{}: tokenizer.ggml.pre is \"{}\"; whale knows the pre-tokenizers {}", v.source,
       v.pre.empty() ? "(missing)" : v.pre, names);
}

}  // namespace

std::optional<std::string_view> gguf_pre_tokenizer_name(std::span<const std::string> splits,
                                                        bool gpt2_regex) {
  for (const PreTokenizerSpec& spec : kPreTokenizers)
    if (spec.gpt2_regex == gpt2_regex &&
        std::equal(spec.splits.begin(), spec.splits.end(), splits.begin(), splits.end()))
      return spec.name;
  return std::nullopt;
}

GgufVocabulary gguf_vocabulary(const GgufMetadata& m) {
  GgufVocabulary v;
  v.source = m.file();
  v.model = std::string(m.get_string("tokenizer.ggml.model"));
  v.pre = std::string(m.find_string("tokenizer.ggml.pre").value_or(""));
  const auto& tokens = m.get_string_array("tokenizer.ggml.tokens");
  v.tokens.assign(tokens.begin(), tokens.end());
  if (m.contains("tokenizer.ggml.token_type")) {
    for (const std::int64_t t : m.get_int_array("tokenizer.ggml.token_type"))
      v.token_types.push_back(static_cast<std::int32_t>(
          std::clamp<std::int64_t>(t, INT32_MIN, INT32_MAX)));  // out of range: refused later
  }
  if (m.contains("tokenizer.ggml.merges")) {
    const auto& merges = m.get_string_array("tokenizer.ggml.merges");
    v.merges.assign(merges.begin(), merges.end());
  }
  const auto id = [&](const char* key) -> std::optional<std::int32_t> {
    const auto value = m.find_i64(key);
    if (!value) return std::nullopt;
    if (*value < 0 || *value > INT32_MAX)
      fail("{}: {} is {}, expected a token id", m.file(), key, *value);
    return static_cast<std::int32_t>(*value);
  };
  v.bos = id("tokenizer.ggml.bos_token_id");
  v.eos = id("tokenizer.ggml.eos_token_id");
  v.unk = id("tokenizer.ggml.unknown_token_id");
  v.add_bos = m.find_bool("tokenizer.ggml.add_bos_token");
  v.add_eos = m.find_bool("tokenizer.ggml.add_eos_token");
  return v;
}

Tokenizer Tokenizer::from_gguf(const GgufVocabulary& v) {
  if (v.model != "gpt2")
    fail("{}: tokenizer.ggml.model is \"{}\"; whale supports \"gpt2\" (byte-level BPE)", v.source,
         v.model);
  if (v.tokens.empty()) fail("{}: tokenizer.ggml.tokens is empty", v.source);
  if (v.tokens.size() > static_cast<std::size_t>(INT32_MAX))
    fail("{}: tokenizer.ggml.tokens has {} entries, more than token ids can number", v.source,
         v.tokens.size());
  if (!v.token_types.empty() && v.token_types.size() != v.tokens.size())
    fail("{}: tokenizer.ggml.token_type has {} entries, expected one per token ({})", v.source,
         v.token_types.size(), v.tokens.size());
  const PreTokenizerSpec& spec = find_pre_tokenizer(v);

  auto impl = std::make_unique<Impl>();
  impl->path = v.source;
  for (const std::string_view pattern : spec.splits)
    impl->pre_tokenizer.add_split(
        Regex(pattern, Regex::Syntax::oniguruma, fmt::format("pre-tokenizer \"{}\"", spec.name)),
        SplitBehavior::isolated, false);
  impl->pre_tokenizer.set_byte_level(false, spec.gpt2_regex);

  TokenIdMap vocab;
  vocab.reserve(v.tokens.size());
  std::vector<AddedToken> added;
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    const std::string& text = v.tokens[i];
    const auto id = static_cast<std::int32_t>(i);
    const std::int32_t type = v.token_types.empty() ? kNormal : v.token_types[i];
    if (const auto bad = first_invalid_utf8(text))
      fail("{}: tokenizer.ggml.tokens[{}] is not valid UTF-8 (byte {})", v.source, i, *bad);
    switch (type) {
      case kNormal:
      case kUnknown:
      case kByte:
        if (text.empty()) fail("{}: tokenizer.ggml.tokens[{}] is empty", v.source, i);
        vocab.emplace(text, id);  // a repeated spelling keeps its first id, as a dict would
        break;
      case kControl:
      case kUserDefined: {
        if (text.empty()) fail("{}: tokenizer.ggml.tokens[{}] is empty", v.source, i);
        AddedToken t;
        t.content = text;
        t.id = id;
        t.special = type == kControl;
        t.normalized = !t.special;
        added.push_back(std::move(t));
        break;
      }
      case kUnused:
        break;  // padding rows ([PAD123]): no token
      default:
        fail("{}: tokenizer.ggml.token_type[{}] is {}, expected 1..6 (normal, unknown, control, "
             "user-defined, unused, byte)",
             v.source, i, type);
    }
  }

  std::vector<BpeModel::Merge> merges;
  merges.reserve(v.merges.size());
  for (std::size_t rank = 0; rank < v.merges.size(); ++rank) {
    const std::string& m = v.merges[rank];
    const std::size_t space = m.find(' ');
    if (space == std::string::npos || m.find(' ', space + 1) != std::string::npos)
      fail("{}: tokenizer.ggml.merges[{}] is \"{}\", expected two tokens separated by one space",
           v.source, rank, m);
    const std::string_view left(m.data(), space), right(m.data() + space + 1, m.size() - space - 1);
    const std::string joined = m.substr(0, space) + m.substr(space + 1);
    const auto a = vocab.find(left), b = vocab.find(right), c = vocab.find(joined);
    if (a == vocab.end() || b == vocab.end() || c == vocab.end())
      fail("{}: tokenizer.ggml.merges[{}]: \"{}\" is not a token", v.source, rank,
           a == vocab.end()   ? std::string(left)
           : b == vocab.end() ? std::string(right)
                              : joined);
    merges.push_back({a->second, b->second, c->second});
  }

  BpeOptions options;
  options.byte_level = true;
  options.ignore_merges = spec.ignore_merges;
  const auto check_id = [&](const std::optional<std::int32_t>& id, const char* key) {
    if (id && (*id < 0 || static_cast<std::size_t>(*id) >= v.tokens.size()))
      fail("{}: {} is {}, expected a token id below {}", v.source, key, *id, v.tokens.size());
  };
  check_id(v.bos, "tokenizer.ggml.bos_token_id");
  check_id(v.eos, "tokenizer.ggml.eos_token_id");
  check_id(v.unk, "tokenizer.ggml.unknown_token_id");
  if (v.unk && vocab.contains(v.tokens[static_cast<std::size_t>(*v.unk)])) options.unk_id = *v.unk;
  impl->model.emplace(std::move(vocab), merges, options);
  index_tokens(*impl, added);
  // Control and user-defined tokens decode to their text as written, not through the byte
  // alphabet (a user-defined "ü" is the character, not byte 0xFC), as llama.cpp decodes them.
  for (const AddedToken& t : added) impl->token_bytes[static_cast<std::size_t>(t.id)] = t.content;

  impl->bos = v.bos;
  impl->eos = v.eos;
  impl->add_bos = v.add_bos.value_or(spec.add_bos);
  impl->add_eos = v.add_eos.value_or(false);
  if (impl->add_bos && !impl->bos)
    fail("{}: tokenizer.ggml.add_bos_token is true but tokenizer.ggml.bos_token_id is not set",
         v.source);
  if (impl->add_eos && !impl->eos)
    fail("{}: tokenizer.ggml.add_eos_token is true but tokenizer.ggml.eos_token_id is not set",
         v.source);
  return Tokenizer(std::move(impl));
}

}  // namespace whale
