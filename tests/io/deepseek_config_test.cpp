#include <gtest/gtest.h>
TEST(deepseekconfigtestPlaceholder, Builds) { EXPECT_TRUE(true); }
