// Download progress on stderr: a bar redrawn in place (bytes, percent, MB/s, ETA) when stderr
// is a terminal, plain lines every few seconds when it is a file or a pipe.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>

namespace whale::cli {

class DownloadProgress {
 public:
  // `terminal`: draw a bar (true) or print periodic lines (false).
  DownloadProgress(std::FILE* out, bool terminal);

  // A new file of `total_bytes`, of which `resumed_bytes` were already on disk.
  void begin(const std::string& label, std::int64_t total_bytes, std::int64_t resumed_bytes);
  // Bytes of the file on disk now; redraws at most a few times a second.
  void update(std::int64_t done_bytes);
  // Prints a line of its own (a retry notice) without mangling the bar.
  void note(const std::string& line);
  // The file is complete (or failed: `ok` false); ends the bar's line.
  void end(bool ok);

 private:
  using Clock = std::chrono::steady_clock;
  struct Sample {
    Clock::time_point time;
    std::int64_t bytes;
  };
  double bytes_per_second() const;
  std::string status_text(bool for_bar) const;
  void draw();
  void clear_line();

  std::FILE* out_;
  bool terminal_;
  std::string label_;
  std::int64_t total_ = 0, resumed_ = 0, done_ = 0;
  Clock::time_point started_, last_drawn_;
  std::deque<Sample> window_;  // the last few seconds, for the current rate
  bool bar_visible_ = false;
};

}  // namespace whale::cli
