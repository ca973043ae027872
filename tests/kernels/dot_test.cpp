#include <gtest/gtest.h>
TEST(dottestPlaceholder, Builds) { EXPECT_TRUE(true); }
