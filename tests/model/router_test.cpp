#include <gtest/gtest.h>
TEST(RouterPlaceholder, Builds) { EXPECT_TRUE(true); }
