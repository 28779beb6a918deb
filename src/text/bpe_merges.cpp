#include "text/bpe_merges.h"

#include <functional>
#include <queue>

namespace chatterbox {

void BpeMerges::add(int64_t left, int64_t right, int64_t merged) {
  merges_[key(left, right)] = {next_rank_++, merged};
}

void BpeMerges::merge_all(const std::vector<int64_t>& ids, std::vector<int64_t>& out) const {
  if (ids.empty()) return;
  // A doubly linked list over the symbols: merging marks the right one dead.
  struct Symbol {
    int64_t id;
    int64_t prev;
    int64_t next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(ids.size());
  for (int64_t id : ids) {
    const auto n = static_cast<int64_t>(symbols.size());
    symbols.push_back({id, n - 1, n + 1, true});
  }
  symbols.back().next = -1;

  struct Candidate {
    int32_t rank;
    int64_t pos;  // of the left symbol
    int64_t merged;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto push_pair = [&](int64_t left) {
    if (left < 0 || symbols[left].next < 0) return;
    if (const Target* t = find(symbols[left].id, symbols[symbols[left].next].id))
      queue.push({t->rank, left, t->merged});
  };
  for (int64_t i = 0; i + 1 < static_cast<int64_t>(symbols.size()); ++i) push_pair(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    // Skip stale entries: the pair at this position changed since it was queued.
    const Target* t = find(left.id, symbols[left.next].id);
    if (!t || t->merged != top.merged || t->rank != top.rank) continue;
    Symbol& right = symbols[left.next];
    left.id = top.merged;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int64_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace chatterbox
