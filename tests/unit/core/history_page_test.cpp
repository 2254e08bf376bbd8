#include "core/history_page.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "core/protocol/events.hpp"

namespace nself::core {
namespace {

TEST(PageLength, KeepsEverythingThatFits) {
  const std::vector<std::size_t> sizes{10, 20, 30};
  EXPECT_EQ(page_length(sizes, 60, PageKeeps::kNewest), 3u);
  EXPECT_EQ(page_length(sizes, 60, PageKeeps::kOldest), 3u);
  EXPECT_EQ(page_length({}, 60, PageKeeps::kNewest), 0u);
}

TEST(PageLength, NewestKeepsTheEndAndDropsTheOldest) {
  const std::vector<std::size_t> sizes{40, 10, 20, 30};       // oldest first
  EXPECT_EQ(page_length(sizes, 50, PageKeeps::kNewest), 2u);  // 30 + 20
  EXPECT_EQ(page_length(sizes, 59, PageKeeps::kNewest), 2u);
  EXPECT_EQ(page_length(sizes, 60, PageKeeps::kNewest), 3u);  // 30 + 20 + 10
}

TEST(PageLength, OldestKeepsTheStartAndDropsTheNewest) {
  const std::vector<std::size_t> sizes{40, 10, 20, 30};
  EXPECT_EQ(page_length(sizes, 49, PageKeeps::kOldest), 1u);
  EXPECT_EQ(page_length(sizes, 50, PageKeeps::kOldest), 2u);  // 40 + 10
  EXPECT_EQ(page_length(sizes, 70, PageKeeps::kOldest), 3u);
}

TEST(PageLength, AlwaysKeepsOneEvenWhenItIsOverTheBudget) {
  const std::vector<std::size_t> sizes{500, 600};
  EXPECT_EQ(page_length(sizes, 100, PageKeeps::kNewest), 1u);
  EXPECT_EQ(page_length(sizes, 100, PageKeeps::kOldest), 1u);
  EXPECT_EQ(page_length(sizes, 0, PageKeeps::kOldest), 1u);
}

TEST(PageLength, DoesNotOverflowNearTheLargestSize) {
  const std::size_t huge = std::numeric_limits<std::size_t>::max() - 1;
  const std::vector<std::size_t> sizes{huge, huge};
  EXPECT_EQ(page_length(sizes, huge, PageKeeps::kOldest), 1u);
}

// The estimate is a bound: a history event of messages whose estimates add
// up to N is at most N plus its envelope, whatever the ids and user ids hold.
TEST(EstimatedMessageBytes, BoundsTheEncodedMessage) {
  const std::string id = "7d9f0c1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f";
  const std::string user_id = std::string("\x01\x02\"\\", 4) + std::string(60, '\x1f');
  const std::string content = "{\"text\":\"" + std::string(1000, 'x') + "\",\"n\":[1,2,3]}";
  std::vector<protocol::MessageView> views;
  std::size_t estimate = 0;
  for (int i = 0; i < 3; ++i) {
    views.push_back(protocol::MessageView{"general", id, std::numeric_limits<std::int64_t>::max(),
                                          user_id, content, protocol::Timestamp{}});
    estimate += estimated_message_bytes(id, user_id, content);
  }
  const std::string empty = protocol::history_event({}, "general", {}, true);
  const std::string full = protocol::history_event({}, "general", views, true);
  EXPECT_LE(full.size() - empty.size(), estimate);
  EXPECT_GE(estimated_message_bytes(id, user_id, content), content.size());
}

}  // namespace
}  // namespace nself::core
