#include "cli/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "util/byte_size.h"

namespace whale::cli {
namespace {

constexpr auto kTerminalRedraw = std::chrono::milliseconds(150);
constexpr auto kLogInterval = std::chrono::seconds(10);
constexpr auto kRateWindow = std::chrono::seconds(5);

int terminal_width(std::FILE* out) {
  winsize size{};
  if (::ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col >= 40) return size.ws_col;
  return 80;
}

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 99 * 3600.0) return "--:--";
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

DownloadProgress::DownloadProgress(std::FILE* out, bool terminal)
    : out_(out), terminal_(terminal) {}

void DownloadProgress::begin(const std::string& label, std::int64_t total_bytes,
                             std::int64_t resumed_bytes) {
  label_ = label;
  total_ = total_bytes;
  resumed_ = done_ = resumed_bytes;
  started_ = last_drawn_ = Clock::now();
  window_.assign(1, {started_, done_});
  if (terminal_) {
    draw();
  } else if (resumed_bytes > 0) {
    fmt::print(out_, "{}: resuming at {} of {}\n", label_, format_byte_size(resumed_bytes),
               format_byte_size(total_));
    std::fflush(out_);
  }
}

double DownloadProgress::bytes_per_second() const {
  // The last few seconds once there are some; before that, the average since begin().
  const Sample& first = window_.back().time - window_.front().time >= std::chrono::seconds(1)
                            ? window_.front()
                            : Sample{started_, resumed_};
  const double seconds = std::chrono::duration<double>(window_.back().time - first.time).count();
  return seconds > 0 ? static_cast<double>(window_.back().bytes - first.bytes) / seconds : 0.0;
}

std::string DownloadProgress::status_text(bool for_bar) const {
  const double rate = bytes_per_second();
  const int percent = total_ > 0 ? static_cast<int>(100 * done_ / total_) : 100;
  const std::string eta =
      duration_text(rate > 0 ? static_cast<double>(total_ - done_) / rate : NAN);
  if (for_bar)  // fixed widths, so that the bar does not jitter
    return fmt::format("{:>3}% {:>10} / {:>10} {:>6.1f} MB/s ETA {:>7}", percent,
                       format_byte_size(done_), format_byte_size(total_), rate / 1e6, eta);
  return fmt::format("{}% {} / {}, {:.1f} MB/s, ETA {}", percent, format_byte_size(done_),
                     format_byte_size(total_), rate / 1e6, eta);
}

void DownloadProgress::update(std::int64_t done_bytes) {
  done_ = done_bytes;
  const auto now = Clock::now();
  if (now - window_.back().time >= std::chrono::milliseconds(100)) window_.push_back({now, done_});
  while (window_.size() > 2 && now - window_.front().time > kRateWindow) window_.pop_front();
  const Clock::duration interval =
      terminal_ ? Clock::duration(kTerminalRedraw) : Clock::duration(kLogInterval);
  if (now - last_drawn_ < interval) return;
  last_drawn_ = now;
  if (terminal_) {
    draw();
  } else {
    fmt::print(out_, "{}: {}\n", label_, status_text(false));
    std::fflush(out_);
  }
}

void DownloadProgress::draw() {
  const std::string status = status_text(true);
  const int width = terminal_width(out_) - 1;
  std::string label = label_;
  const int room_for_label = std::max(10, width - static_cast<int>(status.size()) - 14);
  if (static_cast<int>(label.size()) > room_for_label)
    label = "..." + label.substr(label.size() - static_cast<std::size_t>(room_for_label - 3));
  const int bar_width = width - static_cast<int>(label.size() + status.size()) - 4;
  std::string bar;
  if (bar_width >= 5) {
    const double fraction =
        total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
    const int filled = std::clamp(static_cast<int>(fraction * bar_width), 0, bar_width);
    bar = " [" + std::string(static_cast<std::size_t>(filled), '#') +
          std::string(static_cast<std::size_t>(bar_width - filled), '.') + "]";
  }
  fmt::print(out_, "\r\033[K{}{} {}", label, bar, status);
  std::fflush(out_);
  bar_visible_ = true;
}

void DownloadProgress::clear_line() {
  if (bar_visible_) fmt::print(out_, "\r\033[K");
  bar_visible_ = false;
}

void DownloadProgress::note(const std::string& line) {
  if (terminal_) clear_line();
  fmt::print(out_, "{}\n", line);
  if (terminal_) draw();
  std::fflush(out_);
}

void DownloadProgress::end(bool ok) {
  if (!ok) {
    // Keep the bar where it stopped; the error message that follows says what is kept.
    if (terminal_ && bar_visible_) fmt::print(out_, "\n");
    bar_visible_ = false;
    std::fflush(out_);
    return;
  }
  if (terminal_) clear_line();
  const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  if (seconds < 1.0) {
    fmt::print(out_, "{}: {}\n", label_, format_byte_size(total_));
  } else {
    fmt::print(out_, "{}: {} in {} ({:.1f} MB/s)\n", label_, format_byte_size(total_),
               duration_text(seconds), static_cast<double>(done_ - resumed_) / seconds / 1e6);
  }
  std::fflush(out_);
}

}  // namespace whale::cli
