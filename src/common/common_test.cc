// Unit tests for the small common pieces: CRC32C, coding, UTF-8, event ids.
#include <gtest/gtest.h>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/utf8.h"
#include "kiroku/event.h"

namespace kiroku {
namespace {

TEST(Crc32c, KnownVectors) {
  // RFC 3720 B.4 test vectors.
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::Value(zeros), 0x8a9136aau);
  std::string ones(32, '\xff');
  EXPECT_EQ(crc32c::Value(ones), 0x62a8ab43u);
  std::string inc;
  for (int i = 0; i < 32; ++i) inc.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c::Value(inc), 0x46dd794eu);
  EXPECT_EQ(crc32c::Value("123456789"), 0xe3069283u);
}

TEST(Crc32c, ExtendEqualsWholeAndMaskRoundTrips) {
  std::string s = "hello event sourcing world, with an odd length!";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t part = crc32c::Extend(crc32c::Value(s.data(), cut), s.data() + cut, s.size() - cut);
    EXPECT_EQ(part, crc32c::Value(s));
  }
  uint32_t c = crc32c::Value(s);
  EXPECT_NE(crc32c::Mask(c), c);
  EXPECT_EQ(crc32c::Unmask(crc32c::Mask(c)), c);
}

TEST(Coding, VarintsAndLengthPrefixed) {
  std::string buf;
  const uint32_t values[] = {0, 1, 127, 128, 300, 16383, 16384, 0xffffffffu};
  for (uint32_t v : values) coding::PutVarint32(&buf, v);
  std::string_view in = buf;
  for (uint32_t v : values) {
    uint32_t got;
    ASSERT_TRUE(coding::GetVarint32(&in, &got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(in.empty());
  std::string_view truncated("\xff\xff", 2);
  uint32_t v;
  EXPECT_FALSE(coding::GetVarint32(&truncated, &v));
  std::string lp;
  coding::PutLengthPrefixed(&lp, "abc");
  std::string_view lin = std::string_view(lp).substr(0, lp.size() - 1);
  std::string_view out;
  EXPECT_FALSE(coding::GetLengthPrefixed(&lin, &out));
  std::string be;
  coding::PutBigEndian64(&be, 0x0102030405060708ull);
  EXPECT_EQ(be, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(coding::DecodeBigEndian64(be.data()), 0x0102030405060708ull);
}

TEST(Utf8, AcceptsValidRejectsInvalid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ascii-stream"));
  EXPECT_TRUE(IsValidUtf8("学習ログ-1"));
  EXPECT_TRUE(IsValidUtf8("emoji \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe6\x97"));          // truncated
}

TEST(EventIdTest, ParseFormatRandom) {
  auto id = EventId::Parse("0F8FAD5B-D9CB-469F-A165-70867728950E");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->ToString(), "0f8fad5b-d9cb-469f-a165-70867728950e");
  EXPECT_FALSE(EventId::Parse("0f8fad5b-d9cb-469f-a165-70867728950"));
  EXPECT_FALSE(EventId::Parse("0f8fad5bxd9cb-469f-a165-70867728950e"));
  EXPECT_FALSE(EventId::Parse("zf8fad5b-d9cb-469f-a165-70867728950e"));
  EventId a = EventId::Random(), b = EventId::Random();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.ToString()[14], '4');  // version 4
  EXPECT_EQ(EventId::Parse(a.ToString()), a);
  EXPECT_TRUE(EventId().IsNil());
}

TEST(StreamNames, CategoryAndMetadataStream) {
  EXPECT_EQ(StreamCategory("learner-42"), "learner");
  EXPECT_EQ(StreamCategory("learner-42-x"), "learner");
  EXPECT_EQ(StreamCategory("plain"), "plain");
  EXPECT_EQ(MetadataStreamOf("a"), "$$a");
  EXPECT_TRUE(IsMetadataStream("$$a"));
  EXPECT_FALSE(IsMetadataStream("$a"));
  EXPECT_FALSE(IsMetadataStream("$$"));
}

}  // namespace
}  // namespace kiroku
