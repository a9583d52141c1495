#include "s1pilot/core/metrics.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

namespace s1pilot::core {
namespace {

TEST(metrics_registry, renders_counters_and_gauges_in_the_text_exposition_format) {
    metrics_registry r;
    auto& runs = r.counter("s1pilot_runs_total", "Runs by result.", {"playbook", "result"});
    auto& ready = r.gauge("s1pilot_ready", "1 when ready.");
    runs.inc({"contain", "ok"});
    runs.inc({"contain", "ok"}, 2);
    runs.inc({"alpha", "held"});
    ready.set({}, 1);
    EXPECT_EQ(r.render(),
              "# HELP s1pilot_runs_total Runs by result.\n"
              "# TYPE s1pilot_runs_total counter\n"
              "s1pilot_runs_total{playbook=\"alpha\",result=\"held\"} 1\n"
              "s1pilot_runs_total{playbook=\"contain\",result=\"ok\"} 3\n"
              "# HELP s1pilot_ready 1 when ready.\n"
              "# TYPE s1pilot_ready gauge\n"
              "s1pilot_ready 1\n");
    EXPECT_EQ(runs.value({"contain", "ok"}), 3);
    EXPECT_EQ(runs.value({"nobody", "ok"}), 0);
}

TEST(metrics_registry, renders_a_histogram_with_cumulative_buckets_sum_and_count) {
    metrics_registry r;
    auto& h = r.histogram("call_seconds", "Latency.", {"class"}, {0.1, 1});
    h.observe({"read"}, 0.05);
    h.observe({"read"}, 0.1);  // on a bound: counted in that bucket (le)
    h.observe({"read"}, 0.5);
    h.observe({"read"}, 7);
    EXPECT_EQ(r.render(),
              "# HELP call_seconds Latency.\n"
              "# TYPE call_seconds histogram\n"
              "call_seconds_bucket{class=\"read\",le=\"0.1\"} 2\n"
              "call_seconds_bucket{class=\"read\",le=\"1\"} 3\n"
              "call_seconds_bucket{class=\"read\",le=\"+Inf\"} 4\n"
              "call_seconds_sum{class=\"read\"} 7.65\n"
              "call_seconds_count{class=\"read\"} 4\n");
    EXPECT_EQ(h.value({"read"}), 4);
}

TEST(metrics_registry, escapes_label_values_and_help_text) {
    metrics_registry r;
    auto& g = r.gauge("g", "a \\ help\nline", {"name"});
    g.set({"quote\" back\\ new\nline"}, 0.5);
    EXPECT_EQ(r.render(),
              "# HELP g a \\\\ help\\nline\n"
              "# TYPE g gauge\n"
              "g{name=\"quote\\\" back\\\\ new\\nline\"} 0.5\n");
}

TEST(metrics_registry, writes_special_values_as_the_format_spells_them) {
    metrics_registry r;
    auto& g = r.gauge("g", "h", {"k"});
    g.set({"inf"}, std::numeric_limits<double>::infinity());
    g.set({"nan"}, std::numeric_limits<double>::quiet_NaN());
    g.set({"neg"}, -2);
    const auto text = r.render();
    EXPECT_NE(text.find("g{k=\"inf\"} +Inf\n"), std::string::npos) << text;
    EXPECT_NE(text.find("g{k=\"nan\"} NaN\n"), std::string::npos) << text;
    EXPECT_NE(text.find("g{k=\"neg\"} -2\n"), std::string::npos) << text;
}

TEST(metrics_registry, registering_a_name_again_returns_the_same_family_and_refuses_a_different_shape) {
    metrics_registry r;
    auto& a = r.counter("x_total", "h", {"k"});
    auto& b = r.counter("x_total", "h", {"k"});
    EXPECT_EQ(&a, &b);
    EXPECT_THROW(r.gauge("x_total", "h", {"k"}), std::logic_error);
    EXPECT_THROW(r.counter("x_total", "h", {"other"}), std::logic_error);
    EXPECT_THROW(r.counter("no_suffix", "h"), std::logic_error);
}

TEST(metrics_registry, erase_and_clear_drop_series_and_a_wrong_label_count_is_a_bug) {
    metrics_registry r;
    auto& g = r.gauge("g", "h", {"playbook"});
    g.set({"a"}, 1);
    g.set({"b"}, 1);
    g.erase({"a"});
    EXPECT_EQ(r.render(), "# HELP g h\n# TYPE g gauge\ng{playbook=\"b\"} 1\n");
    g.clear();
    EXPECT_EQ(r.render(), "# HELP g h\n# TYPE g gauge\n");
    EXPECT_THROW(g.set({"a", "b"}, 1), std::logic_error);
}

}  // namespace
}  // namespace s1pilot::core
