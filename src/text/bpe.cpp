#include "text/bpe.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "text/byte_level.h"
#include "text/utf8.h"

namespace whale {

struct BpeModel::MergeTable {
  struct Slot {
    std::uint64_t key = kEmpty;
    std::int32_t rank = 0, merged = 0;
  };
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  std::vector<Slot> slots;
  std::uint64_t mask = 0;

  static std::uint64_t key(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
  }
  static std::uint64_t hash(std::uint64_t k) { return (k * 0x9E3779B97F4A7C15ull) >> 20; }

  explicit MergeTable(std::size_t count) {
    std::size_t capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    slots.resize(capacity);
    mask = capacity - 1;
  }
  // A later merge of the same pair replaces the earlier one, as when Hugging Face collects the
  // merges into a HashMap.
  void insert(std::int32_t left, std::int32_t right, std::int32_t rank, std::int32_t merged) {
    const std::uint64_t k = key(left, right);
    for (std::uint64_t i = hash(k) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == kEmpty || slots[i].key == k) {
        slots[i] = {k, rank, merged};
        return;
      }
    }
  }
  const Slot* find(std::int32_t left, std::int32_t right) const {
    const std::uint64_t k = key(left, right);
    for (std::uint64_t i = hash(k) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == k) return &slots[i];
      if (slots[i].key == kEmpty) return nullptr;
    }
  }
};

// Words repeat (" the", ",", " of"), so their ids are kept. The map is bounded: when full it is
// emptied and refills with what the current text uses. Long words are not cached.
struct BpeModel::WordCache {
  static constexpr std::size_t kCapacity = 1 << 17;
  static constexpr std::size_t kLongestWord = 256;
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<std::int32_t>, StringHash, std::equal_to<>> map;
};

BpeModel::BpeModel(TokenIdMap vocab, const std::vector<Merge>& merges, BpeOptions options)
    : vocab_(std::move(vocab)),
      options_(options),
      merges_(std::make_unique<MergeTable>(merges.size())),
      cache_(std::make_unique<WordCache>()) {
  for (std::size_t rank = 0; rank < merges.size(); ++rank)
    merges_->insert(merges[rank].left, merges[rank].right, static_cast<std::int32_t>(rank),
                    merges[rank].merged);
  std::string spelling;
  for (int b = 0; b < 256; ++b) {
    spelling.clear();
    append_byte_level(spelling, std::string_view(reinterpret_cast<const char*>(&b), 1));
    const auto it = vocab_.find(spelling);
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
}

BpeModel::~BpeModel() = default;
BpeModel::BpeModel(BpeModel&&) noexcept = default;
BpeModel& BpeModel::operator=(BpeModel&&) noexcept = default;

std::optional<std::int32_t> BpeModel::token_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::initial_symbols(std::string_view word, std::vector<std::int32_t>& ids) const {
  // Follows Hugging Face's BPE::merge_word: a known character is a symbol; an unknown one
  // becomes byte tokens (byte_fallback), or unk (fused when fuse_unk), or is dropped.
  std::optional<std::int32_t> pending_unk;
  std::size_t i = 0;
  std::string piece;
  while (i < word.size()) {
    std::size_t length = 1;
    std::int32_t id = -1;
    if (options_.byte_level) {
      id = byte_ids_[static_cast<unsigned char>(word[i])];
    } else {
      length = std::max<std::size_t>(1, next_utf8(word, i).length);
      const auto it = vocab_.find(word.substr(i, length));
      if (it != vocab_.end()) id = it->second;
    }
    const std::string_view character = word.substr(i, length);
    i += length;
    if (id >= 0) {
      if (pending_unk) ids.push_back(*std::exchange(pending_unk, std::nullopt));
      ids.push_back(id);
      continue;
    }
    if (options_.byte_fallback) {
      std::vector<std::int32_t> bytes;
      for (const char c : character) {
        piece.clear();
        // Hugging Face spells them with format!("<{b:#04X}>"): "<0x0A>".
        static constexpr char kHex[] = "0123456789ABCDEF";
        const auto b = static_cast<unsigned char>(c);
        piece = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
        const auto it = vocab_.find(piece);
        if (it == vocab_.end()) break;
        bytes.push_back(it->second);
      }
      if (bytes.size() == character.size()) {
        ids.insert(ids.end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    if (options_.unk_id) {
      if (pending_unk && !options_.fuse_unk) ids.push_back(*pending_unk);
      pending_unk = options_.unk_id;
    }
  }
  if (pending_unk) ids.push_back(*pending_unk);
}

void BpeModel::encode_word_uncached(std::string_view word, std::vector<std::int32_t>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    std::string spelling;
    if (options_.byte_level) append_byte_level(spelling, word);
    const auto it = vocab_.find(options_.byte_level ? std::string_view(spelling) : word);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  // Symbols form a linked list; candidate merges wait in a min-heap ordered by (rank,
  // position), and an entry whose pair has changed since it was pushed is skipped.
  struct Symbol {
    std::int32_t id, prev, next;
    bool alive;
  };
  struct Candidate {
    std::int32_t rank, left, merged;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  thread_local std::vector<std::int32_t> ids;
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  ids.clear();
  initial_symbols(word, ids);
  if (ids.size() <= 1) {
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }
  const auto n = static_cast<std::int32_t>(ids.size());
  symbols.resize(ids.size());
  for (std::int32_t i = 0; i < n; ++i)
    symbols[static_cast<std::size_t>(i)] = {ids[static_cast<std::size_t>(i)], i - 1,
                                            i + 1 < n ? i + 1 : -1, true};
  heap.clear();
  const auto push = [&](std::int32_t left) {
    const Symbol& a = symbols[static_cast<std::size_t>(left)];
    if (a.next < 0) return;
    if (const auto* m = merges_->find(a.id, symbols[static_cast<std::size_t>(a.next)].id)) {
      heap.push_back({m->rank, left, m->merged});
      std::push_heap(heap.begin(), heap.end(), std::greater<>{});
    }
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[static_cast<std::size_t>(top.left)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[static_cast<std::size_t>(left.next)];
    const auto* m = merges_->find(left.id, right.id);
    if (!m || m->merged != top.merged) continue;
    left.id = top.merged;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[static_cast<std::size_t>(left.next)].prev = top.left;
    if (left.prev >= 0) push(left.prev);
    push(top.left);
  }
  for (std::int32_t i = 0; i >= 0; i = symbols[static_cast<std::size_t>(i)].next)
    out.push_back(symbols[static_cast<std::size_t>(i)].id);
}

void BpeModel::encode_word(std::string_view word, std::vector<std::int32_t>& out) const {
  if (options_.byte_level && word.size() == 1 &&
      byte_ids_[static_cast<unsigned char>(word[0])] >= 0) {
    out.push_back(byte_ids_[static_cast<unsigned char>(word[0])]);
    return;
  }
  if (word.size() > WordCache::kLongestWord) {
    encode_word_uncached(word, out);
    return;
  }
  {
    std::lock_guard lock(cache_->mutex);
    const auto it = cache_->map.find(word);
    if (it != cache_->map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const std::size_t first = out.size();
  encode_word_uncached(word, out);
  std::vector<std::int32_t> ids(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
  std::lock_guard lock(cache_->mutex);
  if (cache_->map.size() >= WordCache::kCapacity) cache_->map.clear();
  cache_->map.emplace(std::string(word), std::move(ids));
}

}  // namespace whale
