// The streaming chunk schedule: every generated token's audio is emitted exactly once, in
// order, chunks grow as configured, and context-mode chunks never decode past the tokens T3
// has produced.
#include "stream/chunk_plan.h"

#include <gtest/gtest.h>

namespace chatterbox {
namespace {

// Feeds tokens one at a time, like T3 does, and collects the chunk plans.
std::vector<ChunkPlan> run(const ChunkSchedule& schedule, int total_tokens) {
  ChunkPlanner planner(schedule);
  std::vector<ChunkPlan> plans;
  ChunkPlan plan;
  for (int available = 0; available <= total_tokens; ++available) {
    while (planner.next(available, /*done=*/false, plan)) {
      EXPECT_LE(plan.decode_end, available);
      plans.push_back(plan);
    }
  }
  while (planner.next(total_tokens, /*done=*/true, plan)) plans.push_back(plan);
  return plans;
}

void expect_covers_once(const std::vector<ChunkPlan>& plans, int total_tokens) {
  ASSERT_FALSE(plans.empty());
  int next = 0;
  for (const auto& p : plans) {
    EXPECT_EQ(p.emit_begin, next);
    EXPECT_GE(p.emit_end, p.emit_begin);
    EXPECT_LE(p.window_begin, p.emit_begin);
    EXPECT_GE(p.decode_end, p.emit_end);
    next = p.emit_end;
  }
  EXPECT_EQ(next, total_tokens);
  EXPECT_TRUE(plans.back().last);
  EXPECT_TRUE(plans.back().finalize);
  for (size_t i = 0; i + 1 < plans.size(); ++i) EXPECT_FALSE(plans[i].last);
}

TEST(ChunkPlan, ContextModeCoversEveryTokenOnceWithLookahead) {
  ChunkSchedule s;
  s.stitch_mode = StitchMode::kContext;
  s.first_chunk_tokens = 10;
  s.chunk_tokens = 25;
  s.max_chunk_tokens = 100;
  s.left_context_tokens = 20;
  for (int total : {1, 9, 10, 13, 14, 40, 200, 777}) {
    auto plans = run(s, total);
    expect_covers_once(plans, total);
    for (const auto& p : plans) {
      if (!p.last) {
        EXPECT_EQ(p.decode_end, p.emit_end + s.lookahead_tokens)
            << "non-final chunks carry the look-ahead";
        EXPECT_FALSE(p.finalize);
      }
      EXPECT_GE(p.window_begin, p.emit_begin - s.left_context_tokens);
    }
  }
}

TEST(ChunkPlan, FirstChunkSmallThenDoublingUpToMax) {
  ChunkSchedule s;
  s.stitch_mode = StitchMode::kContext;
  s.first_chunk_tokens = 10;
  s.chunk_tokens = 25;
  s.max_chunk_tokens = 100;
  auto plans = run(s, 1000);
  ASSERT_GE(plans.size(), 5u);
  EXPECT_EQ(plans[0].emit_end - plans[0].emit_begin, 10);
  EXPECT_EQ(plans[1].emit_end - plans[1].emit_begin, 25);
  EXPECT_EQ(plans[2].emit_end - plans[2].emit_begin, 50);
  EXPECT_EQ(plans[3].emit_end - plans[3].emit_begin, 100);
  EXPECT_EQ(plans[4].emit_end - plans[4].emit_begin, 100);
}

TEST(ChunkPlan, FirstChunkWaitsForLookahead) {
  ChunkSchedule s;
  s.stitch_mode = StitchMode::kContext;
  s.first_chunk_tokens = 10;
  ChunkPlanner planner(s);
  ChunkPlan plan;
  EXPECT_FALSE(planner.next(12, false, plan));
  EXPECT_TRUE(planner.next(13, false, plan));
  EXPECT_EQ(plan.emit_end, 10);
  EXPECT_EQ(plan.decode_end, 13);
}

// T3 may finish before a chunk's look-ahead tokens exist (a first chunk of 1 token, an
// utterance of 3): such a chunk must see the true end (finalize), or the flow would drop the
// frames of tokens it emits. Every chunk that is not finalized carries the full look-ahead.
TEST(ChunkPlan, DoneBeforeTheLookaheadExistsFinalizes) {
  for (int first : {1, 2, 3, 5}) {
    for (int total = 1; total <= 12; ++total) {
      ChunkSchedule s;
      s.stitch_mode = StitchMode::kContext;
      s.first_chunk_tokens = first;
      s.chunk_tokens = 1;
      s.max_chunk_tokens = 4;
      auto plans = run(s, total);
      expect_covers_once(plans, total);
      for (const auto& p : plans)
        if (!p.finalize)
          EXPECT_EQ(p.decode_end, p.emit_end + s.lookahead_tokens)
              << "first " << first << ", total " << total << ", chunk from " << p.emit_begin;
    }
  }
}

TEST(ChunkPlan, OverlapAddReachesBackByTheOverlap) {
  ChunkSchedule s;
  s.stitch_mode = StitchMode::kOverlapAdd;
  s.overlap_tokens = 4;
  auto plans = run(s, 120);
  expect_covers_once(plans, 120);
  for (size_t i = 1; i < plans.size(); ++i)
    if (plans[i].emit_end > plans[i].emit_begin)
      EXPECT_EQ(plans[i].window_begin, plans[i].emit_begin - 4);
}

TEST(ChunkPlan, OverlapNeverExceedsAChunk) {
  ChunkSchedule s;
  s.stitch_mode = StitchMode::kOverlapAdd;
  s.first_chunk_tokens = 3;
  s.overlap_tokens = 10;
  EXPECT_EQ(ChunkPlanner(s).schedule().overlap_tokens, 3);
}

TEST(ChunkPlan, NoneModeDecodesExactlyTheEmittedTokens) {
  ChunkSchedule s;
  s.stitch_mode = StitchMode::kNone;
  auto plans = run(s, 87);
  expect_covers_once(plans, 87);
  for (const auto& p : plans) {
    EXPECT_EQ(p.window_begin, p.emit_begin);
    EXPECT_EQ(p.decode_end, p.emit_end);
  }
}

TEST(ChunkPlan, EmptyUtteranceEndsWithOneEmptyFinalChunk) {
  ChunkSchedule s;
  auto plans = run(s, 0);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_TRUE(plans[0].last);
  EXPECT_EQ(plans[0].emit_end, 0);
}

}  // namespace
}  // namespace chatterbox
