#pragma once
// Metrics in the Prometheus text exposition format (version 0.0.4): counters, gauges and
// histograms with labels, kept in one registry that `GET /metrics` renders. No I/O, no Asio.
//
// Thread model: every family locks its registry's mutex, so the engine's thread, its worker and
// the admin listener may all touch them. Updates are rare (per call, per action): a mutex is
// cheaper than clever.

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::core {

enum class metric_type { counter, gauge, histogram };

class metrics_registry;

/// One metric name and its series, one per combination of label values.
class metric_family {
public:
    using labels = std::initializer_list<std::string_view>;

    /// Counters and gauges. `values` are in the order of the family's label names.
    void inc(labels values, double by = 1);
    void set(labels values, double value);
    /// Histograms.
    void observe(labels values, double value);
    /// Drops one series (a playbook that a reload removed) or all of them.
    void erase(labels values);
    void clear();

    /// The series' value (counter/gauge) or its count (histogram); 0 when absent. For tests.
    double value(labels values) const;

    const std::string& name() const noexcept { return name_; }

private:
    friend class metrics_registry;
    struct series {
        double value = 0;
        std::vector<std::uint64_t> buckets;  ///< per bound, not cumulative
        double sum = 0;
        std::uint64_t count = 0;
    };
    metric_family(metrics_registry& owner, std::string name, std::string help, metric_type type,
                  std::vector<std::string> label_names, std::vector<double> bounds);
    series& find_or_add(labels values);
    void render(std::string& out) const;
    void render_labels(std::string& out, const std::vector<std::string>& values, std::string_view le) const;

    metrics_registry& owner_;
    std::string name_, help_;
    metric_type type_;
    std::vector<std::string> label_names_;
    std::vector<double> bounds_;  ///< histogram bucket upper bounds, ascending
    std::map<std::vector<std::string>, series> series_;
};

class metrics_registry {
public:
    metrics_registry() = default;
    metrics_registry(const metrics_registry&) = delete;
    metrics_registry& operator=(const metrics_registry&) = delete;

    /// Registers a family (or returns the one of that name: registering twice is harmless, so
    /// that two owners of one name agree). A counter's name must end in `_total`.
    metric_family& counter(std::string name, std::string help, std::vector<std::string> label_names = {});
    metric_family& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
    metric_family& histogram(std::string name, std::string help, std::vector<std::string> label_names,
                             std::vector<double> bounds);

    /// Every family, in registration order: `# HELP`, `# TYPE`, then its samples.
    std::string render() const;

private:
    friend class metric_family;
    metric_family& add(std::string name, std::string help, metric_type type, std::vector<std::string> label_names,
                       std::vector<double> bounds);

    mutable std::mutex mutex_;
    std::deque<metric_family> families_;  ///< a deque: references stay valid as it grows
};

/// Latency buckets for calls to a console, in seconds.
std::vector<double> latency_buckets();

}  // namespace s1pilot::core
