// DeepSeek's tokenizer, loaded from a Hugging Face tokenizer.json (+ tokenizer_config.json):
// byte-level BPE with merge ranks, regex pre-tokenizer, added and special tokens, ByteLevel
// decoder. Encodes exactly as Hugging Face's `tokenizers` library (see
// tests/data/tokenizer/README.md for the fixtures this is held to).
//
//   Tokenizer tok = Tokenizer::load("models/DeepSeek-V3");
//   std::vector<int32_t> ids = tok.encode("Hello world");   // {0, 19923, 2058}: BOS first
//   std::string text = tok.decode(ids, /*skip_special=*/true);  // "Hello world"
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace whale {

struct AddedToken;
class GgufMetadata;

// The tokenizer a GGUF file carries in its `tokenizer.ggml.*` metadata, as plain data (the GGUF
// reader fills it; text/ does not depend on io/).
struct GgufVocabulary {
  std::string source;                     // the file, for messages
  std::string model;                      // tokenizer.ggml.model: "gpt2" (byte-level BPE)
  std::string pre;                        // tokenizer.ggml.pre: "deepseek-v3", "qwen2", ...
  std::vector<std::string> tokens;        // tokenizer.ggml.tokens, by id
  std::vector<std::int32_t> token_types;  // tokenizer.ggml.token_type (empty: all normal)
  std::vector<std::string> merges;        // tokenizer.ggml.merges, "left right", by rank
  std::optional<std::int32_t> bos, eos, unk;
  std::optional<bool> add_bos, add_eos;   // absent: the pre-tokenizer's default
};

// Reads tokenizer.ggml.* from a GGUF file's metadata (strings are copied). Throws whale::Error
// naming the file and the key when one is missing or of the wrong type.
GgufVocabulary gguf_vocabulary(const GgufMetadata& metadata);

// The tokenizer.ggml.pre name of a tokenizer.json pre-tokenizer: its Split(Isolated) regexes in
// order, then ByteLevel; or, with gpt2_regex, a ByteLevel(use_regex) alone (splits empty). The
// inverse of the table Tokenizer::from_gguf reads, for `whale quantize`; where several names share
// the patterns the first is given ("qwen2", "llama-bpe"). nullopt when whale knows none.
std::optional<std::string_view> gguf_pre_tokenizer_name(std::span<const std::string> splits,
                                                        bool gpt2_regex);

class Tokenizer {
 public:
  // `path` is a model folder holding tokenizer.json, or the tokenizer.json itself;
  // tokenizer_config.json beside it, when present, gives BOS/EOS and whether to add them.
  // Throws whale::Error naming the file and field that is missing or malformed.
  static Tokenizer load(const std::string& path);

  // The tokenizer of a GGUF file. Supported: tokenizer.ggml.model "gpt2" with the
  // pre-tokenizers of DeepSeek-V3/R1 ("deepseek-v3"), DeepSeek LLM and Coder ("deepseek-llm",
  // "deepseek-coder"), Qwen2 and the R1-Distill-Qwen models ("qwen2", "deepseek-r1-qwen"), Llama 3
  // ("llama-bpe", "llama3", "llama-v3") and GPT-2 ("gpt2", "default"); token types CONTROL are
  // special added tokens, USER_DEFINED plain added tokens, UNUSED no token. Throws whale::Error
  // naming vocabulary.source and the key at fault.
  static Tokenizer from_gguf(const GgufVocabulary& vocabulary);

  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Token ids of `text`, which must be valid UTF-8 (else whale::Error with the byte offset).
  // Added tokens in the text are matched first, special or not. With add_special, BOS goes
  // first (and EOS last) when tokenizer_config.json's add_bos_token (add_eos_token) says so.
  // Thread-safe.
  std::vector<std::int32_t> encode(std::string_view text, bool add_special = true) const;

  // encode() of `bytes` with each maximal invalid UTF-8 subpart replaced by U+FFFD.
  std::vector<std::int32_t> encode_lossy(std::string_view bytes, bool add_special = true) const;

  // The text of `ids`. Ids without a token are skipped; with skip_special, so are special
  // tokens (special=true in tokenizer.json: BOS, EOS, pad, ...). Bytes that do not form
  // UTF-8 become U+FFFD, one per maximal invalid subpart.
  std::string decode(std::span<const std::int32_t> ids, bool skip_special = false) const;

  // The id of a token spelled as in tokenizer.json ("<｜User｜>", "Ġthe").
  std::optional<std::int32_t> token_id(std::string_view token) const;
  // The token's spelling as in tokenizer.json; empty for ids without a token.
  std::string_view token_text(std::int32_t id) const;
  // The bytes the token adds to decoded text (possibly part of a UTF-8 character); empty for
  // ids without a token.
  std::string_view token_bytes(std::int32_t id) const;
  bool is_special(std::int32_t id) const;

  // Highest token id + 1 (DeepSeek-V3: 128815; its embedding has more rows, unused).
  std::size_t size() const;

  std::optional<std::int32_t> bos_id() const;
  std::optional<std::int32_t> eos_id() const;
  bool add_bos() const;
  bool add_eos() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  // Fills the id tables, added-token matchers and decoder bytes once vocabulary and added
  // tokens are known (shared by both loaders).
  static void index_tokens(Impl& impl, const std::vector<AddedToken>& added);
  std::unique_ptr<Impl> impl_;
};

// Turns ids into text one id at a time, for streaming generation: each call returns only whole
// UTF-8 characters and holds back the start of a character a later token may complete. The
// concatenation of every push() and the final flush() equals Tokenizer::decode of all ids.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special = false);

  // The text that `id` completes (often empty for the first bytes of a CJK character or emoji).
  std::string push(std::int32_t id);

  // What is still held back, an unfinished character as U+FFFD; the decoder is then empty.
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;  // bytes of an unfinished character
};

}  // namespace whale
