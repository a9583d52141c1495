// Slow, stalled and oversized answers from the console (RELIABILITY #17), black-box: s1sim's
// slow_body, huge_body and huge_header faults on every API answer, `s1pilot once` against it.
// The read deadline (timeouts.request, per phase) ends a trickle and a stall; the size limits
// (64 MiB body, 8 KiB response head) refuse a 100 MiB body and a 16 KiB header field, and
// s1pilot's peak memory stays bounded by the limit, not by what the console sends. Each case
// has a control: with the fault cleared, the same run works.

#include <gtest/gtest.h>

#include <iostream>

#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

using std::chrono::steady_clock;

// note-only.yaml against s1sim with `faults` on every answer, a read deadline of
// `request_timeout` and two attempts per call.
struct faulted_run {
    explicit faulted_run(const std::string& faults, const std::string& request_timeout = "2s") {
        if (!s.sim->started()) return;
        auto console = s.console();
        console.request_timeout = request_timeout;
        console.retry = "{max_attempts: 2, base: 100ms, cap: 1s}";
        s.s1pilot.write_config(console, {s.fixture("note-only.yaml")});
        s.sim->set_faults(faults);
        const auto started = steady_clock::now();
        run = s.s1pilot.once();
        took = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - started);
    }

    /// Nothing was posted, and the run said `why`.
    void expect_failed_saying(const std::string& why) const {
        EXPECT_TRUE(run.code == 1 || run.code == 4) << run.describe();
        EXPECT_TRUE(contains(run.err + run.out, why)) << "the error does not say '" << why << "': " << run.describe();
        EXPECT_FALSE(s.sim->requests().empty()) << "s1pilot sent nothing: the fault was never met";
        EXPECT_TRUE(s.sim->posts().empty()) << "a POST after a failed read";
    }

    /// The control: without the fault the same run works. Returns it.
    run_result expect_works_without_the_fault() const {
        s.sim->set_faults("");
        auto control = s.s1pilot.once();
        EXPECT_EQ(control.code, 0) << control.describe();
        EXPECT_FALSE(s.sim->posts().empty()) << "the control posted nothing";
        return control;
    }

    /// The size of the first GET's plain answer (read through the admin client, unfaulted).
    std::size_t first_answer_size() const {
        const auto requests = s.sim->requests();
        if (requests.empty()) return 0;
        s.sim->set_faults("");
        auto r = s.sim->admin().get(requests.front().path + "?" + requests.front().query);
        EXPECT_EQ(r.status, 200) << r.error;
        return r.body.size();
    }

    scenario s;
    run_result run;
    std::chrono::milliseconds took{0};
};

TEST(ResponseLimits, OneBytePerTenMillisecondsEndsAtTheReadDeadline) {
    faulted_run f("slow_body=10ms");
    ASSERT_TRUE(f.s.sim->started());
    f.expect_failed_saying("timed out after 2s");
    // At 100 bytes a second the first page alone would take minutes: the deadline ended it.
    const auto size = f.first_answer_size();
    EXPECT_GT(size, 12000u) << "the page is too small for the bound below to mean anything";
    EXPECT_LT(f.took, std::chrono::seconds(60)) << f.run.describe();
    std::cout << "[ResponseLimits] trickle: a " << size << "-byte page at 1 byte per 10 ms, given up after "
              << f.took.count() << " ms (2 attempts, 2 s read deadline)\n";
    f.expect_works_without_the_fault();
}

TEST(ResponseLimits, AStalledBodyEndsAtTheReadDeadline) {
    faulted_run f("slow_body=1h");  // the headers, then no byte of the body
    ASSERT_TRUE(f.s.sim->started());
    f.expect_failed_saying("timed out after 2s");
    EXPECT_LT(f.took, std::chrono::seconds(60)) << f.run.describe();
    std::cout << "[ResponseLimits] stall: given up after " << f.took.count() << " ms\n";
    f.expect_works_without_the_fault();
}

TEST(ResponseLimits, AHundredMebibyteBodyIsRefusedWithMemoryBounded) {
    // Chunked: s1pilot learns the size only by reading. A deadline long enough to read 64 MiB
    // over TLS on a loaded machine, so that the limit, not the deadline, ends the read.
    faulted_run f("huge_body=100MiB", "120s");
    ASSERT_TRUE(f.s.sim->started());
    f.expect_failed_saying("body exceeds the limit of 67108864 bytes");
    ASSERT_TRUE(f.run.peak_rss_kib);
    const auto control = f.expect_works_without_the_fault();
    ASSERT_TRUE(control.peak_rss_kib);
    const long refused_mib = *f.run.peak_rss_kib / 1024, control_mib = *control.peak_rss_kib / 1024;
    RecordProperty("peak_rss_kib_refusing_100mib", std::to_string(*f.run.peak_rss_kib));
    RecordProperty("peak_rss_kib_control", std::to_string(*control.peak_rss_kib));
    std::cout << "[ResponseLimits] s1pilot once peak RSS: " << refused_mib << " MiB refusing a 100 MiB body, "
              << control_mib << " MiB for the same run without it\n";
    // AddressSanitizer's allocator keeps freed blocks in quarantine and pads every block, so the
    // sanitize build's RSS measures it, not s1pilot: the refusal above is still checked there, the
    // bound only in the builds that ship.
    if (under_address_sanitizer())
        GTEST_SKIP() << "peak RSS is AddressSanitizer's allocator here; the bound is checked without it";
    // Bounded by the 64 MiB limit (buffered before the refusal) above what the same run needs
    // without it, with 16 MiB to spare; never by the 100 MiB the console sent.
    EXPECT_LT(*f.run.peak_rss_kib, *control.peak_rss_kib + (64 + 16) * 1024)
        << "more than the 64 MiB limit above the control: the body was not refused at the limit";
    EXPECT_LT(refused_mib, 100) << "s1pilot held as much as the console sent";
}

TEST(ResponseLimits, ASixteenKibibyteHeaderIsRefused) {
    faulted_run f("huge_header=16KiB");
    ASSERT_TRUE(f.s.sim->started());
    f.expect_failed_saying("header exceeds the limit of 8192 bytes");
    f.expect_works_without_the_fault();
}

}  // namespace
}  // namespace s1pilot::integration
