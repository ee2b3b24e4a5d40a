#include "TextAssembler.h"

#include <algorithm>

namespace inferaligner {

TextAssembler::TextAssembler(std::vector<std::string> stopStrings) {
  for (auto& s : stopStrings) {
    if (s.empty()) continue;
    maxStopLength_ = std::max(maxStopLength_, s.size());
    stops_.push_back(std::move(s));
  }
}

size_t CompleteUtf8Prefix(const std::string& s, size_t end) {
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  size_t i = end;
  int continuation = 0;
  while (i > 0 && continuation < 4) {
    const unsigned char c = static_cast<unsigned char>(s[i - 1]);
    if ((c & 0xC0) != 0x80) break;
    i--;
    continuation++;
  }
  if (i == 0) return end;
  const unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  size_t need = 1;
  if ((lead & 0xE0) == 0xC0) need = 2;
  else if ((lead & 0xF0) == 0xE0) need = 3;
  else if ((lead & 0xF8) == 0xF0) need = 4;
  const size_t have = static_cast<size_t>(continuation) + 1;
  if (need > 1 && have < need) return i - 1;  // the last character is incomplete
  return end;
}

// Start of the shortest tail that could still grow into a stop string.
size_t TextAssembler::HeldBackFrom() const {
  size_t from = text_.size();
  for (const auto& stop : stops_) {
    const size_t maxLen = std::min(stop.size() - 1, text_.size());
    for (size_t len = maxLen; len > 0; len--) {
      if (text_.compare(text_.size() - len, len, stop, 0, len) == 0) {
        from = std::min(from, text_.size() - len);
        break;
      }
    }
  }
  return from;
}

std::string TextAssembler::Push(const std::string& piece) {
  if (stopped()) return {};
  const size_t searchFrom = text_.size() >= maxStopLength_ ? text_.size() - maxStopLength_ : 0;
  text_ += piece;
  for (const auto& stop : stops_) {
    const size_t at = text_.find(stop, searchFrom);
    if (at != std::string::npos && at < stopAt_) {
      stopAt_ = at;
      matchedStop_ = stop;
    }
  }
  const size_t until = stopped() ? stopAt_ : CompleteUtf8Prefix(text_, HeldBackFrom());
  if (until <= released_) return {};
  std::string out = text_.substr(released_, until - released_);
  released_ = until;
  return out;
}

std::string TextAssembler::Flush() {
  const size_t until = stopped() ? stopAt_ : text_.size();
  if (until <= released_) return {};
  std::string out = text_.substr(released_, until - released_);
  released_ = until;
  return out;
}

std::string TextAssembler::FinalText() const { return stopped() ? text_.substr(0, stopAt_) : text_; }

}  // namespace inferaligner
