#include "s1pilot/core/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace s1pilot::core {
namespace {

std::string_view type_name(metric_type t) {
    switch (t) {
        case metric_type::counter: return "counter";
        case metric_type::gauge: return "gauge";
        case metric_type::histogram: return "histogram";
    }
    return "untyped";
}

/// A sample value: integers without a fraction, +Inf/-Inf/NaN as the format spells them.
void append_number(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
    } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
        fmt::format_to(std::back_inserter(out), "{}", static_cast<long long>(v));
    } else {
        fmt::format_to(std::back_inserter(out), "{}", v);
    }
}

/// Label values escape backslash, double quote and newline; HELP text escapes backslash and newline.
void append_escaped(std::string& out, std::string_view text, bool quote) {
    for (const char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (quote && c == '"') {
            out += "\\\"";
        } else {
            out += c;
        }
    }
}

}  // namespace

metric_family::metric_family(metrics_registry& owner, std::string name, std::string help, metric_type type,
                             std::vector<std::string> label_names, std::vector<double> bounds)
    : owner_(owner),
      name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

metric_family::series& metric_family::find_or_add(labels values) {
    if (values.size() != label_names_.size())
        throw std::logic_error(
            fmt::format("metric {}: {} label values for {} labels", name_, values.size(), label_names_.size()));
    std::vector<std::string> key(values.begin(), values.end());
    auto [it, added] = series_.try_emplace(std::move(key));
    if (added && type_ == metric_type::histogram) it->second.buckets.assign(bounds_.size(), 0);
    return it->second;
}

void metric_family::inc(labels values, double by) {
    const std::lock_guard lock(owner_.mutex_);
    find_or_add(values).value += by;
}

void metric_family::set(labels values, double value) {
    const std::lock_guard lock(owner_.mutex_);
    find_or_add(values).value = value;
}

void metric_family::observe(labels values, double value) {
    const std::lock_guard lock(owner_.mutex_);
    series& s = find_or_add(values);
    const auto bound = std::lower_bound(bounds_.begin(), bounds_.end(), value);
    if (bound != bounds_.end()) ++s.buckets[static_cast<std::size_t>(bound - bounds_.begin())];
    s.sum += value;
    ++s.count;
}

void metric_family::erase(labels values) {
    const std::lock_guard lock(owner_.mutex_);
    series_.erase(std::vector<std::string>(values.begin(), values.end()));
}

void metric_family::clear() {
    const std::lock_guard lock(owner_.mutex_);
    series_.clear();
}

double metric_family::value(labels values) const {
    const std::lock_guard lock(owner_.mutex_);
    const auto it = series_.find(std::vector<std::string>(values.begin(), values.end()));
    if (it == series_.end()) return 0;
    return type_ == metric_type::histogram ? static_cast<double>(it->second.count) : it->second.value;
}

void metric_family::render_labels(std::string& out, const std::vector<std::string>& values, std::string_view le) const {
    if (values.empty() && le.empty()) return;
    out += '{';
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) out += ',';
        out += label_names_[i];
        out += "=\"";
        append_escaped(out, values[i], true);
        out += '"';
    }
    if (!le.empty()) {
        if (!values.empty()) out += ',';
        out += "le=\"";
        out += le;
        out += '"';
    }
    out += '}';
}

void metric_family::render(std::string& out) const {
    out += "# HELP ";
    out += name_;
    out += ' ';
    append_escaped(out, help_, false);
    out += "\n# TYPE ";
    out += name_;
    out += ' ';
    out += type_name(type_);
    out += '\n';
    for (const auto& [values, s] : series_) {
        if (type_ != metric_type::histogram) {
            out += name_;
            render_labels(out, values, {});
            out += ' ';
            append_number(out, s.value);
            out += '\n';
            continue;
        }
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < bounds_.size(); ++i) {
            cumulative += s.buckets[i];
            std::string le;
            append_number(le, bounds_[i]);
            out += name_;
            out += "_bucket";
            render_labels(out, values, le);
            fmt::format_to(std::back_inserter(out), " {}\n", cumulative);
        }
        out += name_;
        out += "_bucket";
        render_labels(out, values, "+Inf");
        fmt::format_to(std::back_inserter(out), " {}\n", s.count);
        out += name_;
        out += "_sum";
        render_labels(out, values, {});
        out += ' ';
        append_number(out, s.sum);
        out += '\n';
        out += name_;
        out += "_count";
        render_labels(out, values, {});
        fmt::format_to(std::back_inserter(out), " {}\n", s.count);
    }
}

metric_family& metrics_registry::add(std::string name, std::string help, metric_type type,
                                     std::vector<std::string> label_names, std::vector<double> bounds) {
    const std::lock_guard lock(mutex_);
    for (auto& f : families_) {
        if (f.name_ != name) continue;
        if (f.type_ != type || f.label_names_ != label_names)
            throw std::logic_error("metric " + name + " registered twice with different types or labels");
        return f;
    }
    if (type == metric_type::counter && !name.ends_with("_total"))
        throw std::logic_error("counter " + name + " must end in _total");
    std::sort(bounds.begin(), bounds.end());
    return families_.emplace_back(
        metric_family(*this, std::move(name), std::move(help), type, std::move(label_names), std::move(bounds)));
}

metric_family& metrics_registry::counter(std::string name, std::string help, std::vector<std::string> label_names) {
    return add(std::move(name), std::move(help), metric_type::counter, std::move(label_names), {});
}

metric_family& metrics_registry::gauge(std::string name, std::string help, std::vector<std::string> label_names) {
    return add(std::move(name), std::move(help), metric_type::gauge, std::move(label_names), {});
}

metric_family& metrics_registry::histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                           std::vector<double> bounds) {
    return add(std::move(name), std::move(help), metric_type::histogram, std::move(label_names), std::move(bounds));
}

std::string metrics_registry::render() const {
    const std::lock_guard lock(mutex_);
    std::string out;
    out.reserve(4096);
    for (const auto& f : families_) f.render(out);
    return out;
}

std::vector<double> latency_buckets() {
    return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

}  // namespace s1pilot::core
