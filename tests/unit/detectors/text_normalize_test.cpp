#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "detectors/text_normalize.hpp"
#include "tests/unit/detectors/normalize_reference.hpp"

using dg::detectors::prompt::normalize;
using dg::detectors::prompt::normalize_into;
using dg::detectors::prompt::normalized_room;

TEST_CASE("normalize appends to what the output already holds", "[detectors]") {
  std::string out = "system\n\n";
  normalize("  Hello   WORLD ", out, true);
  CHECK(out == "system\n\nhello world");
}

TEST_CASE("normalize_into stays inside normalized_room and agrees with normalize", "[detectors]") {
  // Pieces that take every path: sixteen-byte ASCII blocks, runs of blanks and
  // line breaks, rewritten UTF-8 (no-break and ideographic spaces, Latin-1 and
  // Cyrillic capitals) and sequences cut short.
  const std::vector<std::string> pieces{"Plain ASCII words here", " ", "   ", "\n", "\n\n\n", "\t", "\r\n",
                                        "\xC2\xA0", "\xE3\x80\x80", "\xC3\x89T\xC3\x89", "\xD0\x9F\xD0\xA0\xD0\x81",
                                        "\xC3", "\xD0", "\xE3\x80", "x", "0123456789abcdef"};
  std::mt19937 rng(11);
  constexpr unsigned char kCanary = 0xA5;
  for (int round = 0; round < 3000; ++round) {
    std::string in;
    const auto n = rng() % 24;
    for (unsigned i = 0; i < n; ++i) in += pieces[rng() % pieces.size()];
    const bool keep_lines = rng() & 1;
    const std::size_t room = normalized_room(in.size());
    std::vector<char> buf(room + 32, static_cast<char>(kCanary));
    const std::size_t len = normalize_into(in, buf.data(), keep_lines);
    INFO("round " << round << " input of " << in.size() << " bytes");
    REQUIRE(len <= room - 16);  // the last sixteen bytes are slack for block stores only
    for (std::size_t i = room; i < buf.size(); ++i) REQUIRE(static_cast<unsigned char>(buf[i]) == kCanary);
    CHECK(std::string(buf.data(), len) == dg::test::normalize_reference(in, keep_lines));
  }
}
