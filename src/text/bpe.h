// Byte-pair encoding (Sennrich et al. 2016) as Hugging Face's BPE model runs it: a word starts
// as one symbol per character (per byte after ByteLevel), then the adjacent pair with the
// lowest merge rank is merged, leftmost first, until no pair has a merge.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace whale {

// Transparent hashing so maps keyed by std::string can be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenIdMap = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;

struct BpeOptions {
  std::optional<std::int32_t> unk_id;  // for characters missing from the vocabulary
  bool fuse_unk = false;               // consecutive unknowns become one unk
  bool byte_fallback = false;          // unknown characters as <0xXX> byte tokens
  bool ignore_merges = false;          // a word in the vocabulary is one token, unmerged
  bool byte_level = false;             // words arrive as raw bytes, the vocabulary is spelled
                                       // in GPT-2's byte alphabet (see byte_level.h)
};

class BpeModel {
 public:
  struct Merge {
    std::int32_t left, right, merged;  // token ids; rank = index in the list
  };
  BpeModel(TokenIdMap vocab, const std::vector<Merge>& merges, BpeOptions options);
  ~BpeModel();
  BpeModel(BpeModel&&) noexcept;
  BpeModel& operator=(BpeModel&&) noexcept;

  // Appends the ids of one pre-tokenized word. Results are cached per word.
  void encode_word(std::string_view word, std::vector<std::int32_t>& out) const;

  // The same without the cache: the reference the cache is tested against.
  void encode_word_uncached(std::string_view word, std::vector<std::int32_t>& out) const;

  std::optional<std::int32_t> token_id(std::string_view token) const;
  const TokenIdMap& vocab() const { return vocab_; }

 private:
  struct MergeTable;  // open-addressing map (left, right) -> (rank, merged)
  struct WordCache;   // bounded word -> ids cache, shared between threads

  void initial_symbols(std::string_view word, std::vector<std::int32_t>& ids) const;

  TokenIdMap vocab_;
  BpeOptions options_;
  std::int32_t byte_ids_[256];  // byte_level: the token of each single byte, or -1
  std::unique_ptr<MergeTable> merges_;
  std::unique_ptr<WordCache> cache_;
};

}  // namespace whale
