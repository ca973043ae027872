#include <gtest/gtest.h>
TEST(RopePlaceholder, Builds) { EXPECT_TRUE(true); }
