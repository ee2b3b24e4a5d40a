// Turns generated token pieces into text that is safe to stream: never a partial UTF-8 character,
// never text that might turn out to be the start of a stop string. Pure C++, no Napi.
#pragma once

#include <string>
#include <vector>

namespace inferaligner {

class TextAssembler {
 public:
  explicit TextAssembler(std::vector<std::string> stopStrings);

  // Appends a piece; returns the text that may now be released. After a stop string has been
  // seen, stopped() is true and nothing more is released.
  std::string Push(const std::string& piece);
  // Releases whatever was held back (end of generation).
  std::string Flush();

  bool stopped() const { return stopAt_ != std::string::npos; }
  const std::string& matchedStop() const { return matchedStop_; }
  // The final text: everything generated, cut before the stop string if one was seen.
  std::string FinalText() const;

 private:
  size_t HeldBackFrom() const;

  std::vector<std::string> stops_;
  size_t maxStopLength_ = 0;
  std::string text_;
  size_t released_ = 0;
  size_t stopAt_ = std::string::npos;
  std::string matchedStop_;
};

// Length of the longest prefix of `s` that ends on a complete UTF-8 character.
size_t CompleteUtf8Prefix(const std::string& s, size_t end);

}  // namespace inferaligner
