// The parts of a Tokenizer, shared by tokenizer.cpp (encode/decode) and tokenizer_load.cpp
// (building them from tokenizer.json). Not a public header.
#pragma once

#include <optional>

#include "text/added_tokens.h"
#include "text/bpe.h"
#include "text/normalizer.h"
#include "text/pre_tokenizer.h"
#include "text/tokenizer.h"

namespace whale {

struct Tokenizer::Impl {
  std::string path;                       // tokenizer.json, for messages
  std::vector<std::string> token_text;    // id -> spelling (added tokens' content wins)
  std::vector<std::string> token_bytes;   // id -> bytes it decodes to
  std::vector<std::uint8_t> token_flags;  // id -> kHasToken | kSpecial
  static constexpr std::uint8_t kHasToken = 1, kSpecial = 2;
  TokenIdMap added_ids;  // added token content -> id

  AddedTokenMatcher raw_tokens;         // normalized=false, matched in the input
  AddedTokenMatcher normalized_tokens;  // normalized=true, matched after the normalizer
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  std::optional<BpeModel> model;

  std::optional<std::int32_t> bos, eos;
  bool add_bos = false, add_eos = false;

  void encode(std::string_view text, std::vector<std::int32_t>& out) const;
};

}  // namespace whale
