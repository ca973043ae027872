// Typed, range-checked reads of config.json fields, shared by the architecture configs
// (deepseek_config, dense_config). Errors name the file and the field path.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace whale::config_fields {

// Upper bound for sizes and counts (the largest release value is 129280): products of two of
// them, which the loader forms before any tensor is checked (nh * dq, rows + block - 1), then
// stay far inside int64.
constexpr std::int64_t kMaxDimension = std::int64_t{1} << 24;
// Layers and experts (largest release values: 61 + 1 MTP, 256): the loader sizes per-layer and
// per-expert tables from these before it can check that the tensors exist.
constexpr std::int64_t kMaxCount = std::int64_t{1} << 16;
// Token ids are int32 (BatchToken::id); context lengths get the same bound.
constexpr std::int64_t kMaxPosition = std::numeric_limits<std::int32_t>::max();

// Reads fields of one JSON object with type checks; errors name file and field path.
class FieldReader {
 public:
  FieldReader(const nlohmann::json& object, std::string file, std::string prefix)
      : object_(object), file_(std::move(file)), prefix_(std::move(prefix)) {}

  const nlohmann::json* find(const char* key) const {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  [[noreturn]] void wrong(const char* key, const char* expected, const nlohmann::json& v) const {
    fail("{}: field '{}{}' must be {}, got {}", file_, prefix_, key, expected,
         v.is_null() ? "null" : v.dump());
  }

  // Integer field; absent -> fallback. Values outside [min, max] are rejected.
  std::int64_t integer(const char* key, std::int64_t fallback, std::int64_t min = 0,
                       std::int64_t max = kMaxDimension) const {
    const auto* v = find(key);
    if (v == nullptr) return fallback;
    return checked_integer(key, *v, min, max);
  }

  // Integer that may be null (or absent -> fallback).
  std::optional<std::int64_t> optional_integer(const char* key,
                                               std::optional<std::int64_t> fallback,
                                               std::int64_t min = 0,
                                               std::int64_t max = kMaxDimension) const {
    const auto* v = find(key);
    if (v == nullptr) return fallback;
    if (v->is_null()) return std::nullopt;
    return checked_integer(key, *v, min, max);
  }

  double number(const char* key, double fallback) const {
    const auto* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) wrong(key, "a number", *v);
    const double d = v->get<double>();
    if (!std::isfinite(d)) wrong(key, "a finite number", *v);
    return d;
  }

  bool boolean(const char* key, bool fallback) const {
    const auto* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) wrong(key, "true or false", *v);
    return v->get<bool>();
  }

  std::string string(const char* key, std::string fallback) const {
    const auto* v = find(key);
    if (v == nullptr || v->is_null()) return fallback;
    if (!v->is_string()) wrong(key, "a string", *v);
    return v->get<std::string>();
  }

  const std::string& file() const { return file_; }
  const std::string& prefix() const { return prefix_; }

 private:
  std::int64_t checked_integer(const char* key, const nlohmann::json& v, std::int64_t min,
                               std::int64_t max) const {
    std::int64_t value;
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(max))
        fail("{}: field '{}{}' must be at most {}, got {}", file_, prefix_, key, max, u);
      value = static_cast<std::int64_t>(u);
    } else if (v.is_number_integer()) {
      value = v.get<std::int64_t>();
    } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
               std::fabs(v.get<double>()) < 9e15) {
      value = static_cast<std::int64_t>(v.get<double>());
    } else {
      wrong(key, "an integer", v);
    }
    if (value < min)
      fail("{}: field '{}{}' must be at least {}, got {}", file_, prefix_, key, min, value);
    if (value > max)
      fail("{}: field '{}{}' must be at most {}, got {}", file_, prefix_, key, max, value);
    return value;
  }

  const nlohmann::json& object_;
  std::string file_;
  std::string prefix_;
};

}  // namespace whale::config_fields
