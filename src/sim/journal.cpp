#include "journal.hpp"

#include <algorithm>
#include <stdexcept>

#include "json_writer.hpp"

namespace s1sim {
namespace {

void write_entry(json_writer& w, const journal_entry& e) {
    w.begin_object();
    w.member_number("seq", static_cast<std::int64_t>(e.seq));
    w.member("time", s1pilot::core::format_timestamp(from_micros(e.time)));
    w.member("rqid", e.rqid).member("method", e.method).member("path", e.path).member("query", e.query);
    w.member("body", e.body).member_number("status", e.status);
    if (e.fault.empty())
        w.member_null("fault");
    else
        w.member("fault", e.fault);
    if (e.received_ns == 0)
        w.member_null("receivedNs");
    else
        w.member_number("receivedNs", e.received_ns);
    if (e.tls.empty())
        w.member_null("tls");
    else
        w.member("tls", e.tls);
    w.member_number("delayMs", static_cast<std::int64_t>(e.delay.count()));
    w.end_object();
}

}  // namespace

journal::journal(const std::string& file) {
    if (file.empty()) return;
    file_.open(file, std::ios::app);
    if (!file_) throw std::runtime_error("cannot open the journal file " + file);
}

void journal::record(journal_entry entry) {
    entry.seq = next_seq_++;
    if (file_.is_open()) {
        std::string line;
        json_writer w(line);
        write_entry(w, entry);
        line += '\n';
        file_ << line;
        file_.flush();  // a test reads the file while the simulator runs
    }
    entries_.push_back(std::move(entry));
}

std::string journal::to_json(std::uint64_t since) const {
    std::string out;
    json_writer w(out);
    w.begin_object().key("requests").begin_array();
    auto first = std::lower_bound(entries_.begin(), entries_.end(), since,
                                  [](const journal_entry& e, std::uint64_t s) { return e.seq < s; });
    for (auto it = first; it != entries_.end(); ++it) write_entry(w, *it);
    w.end_array().member_number("next", static_cast<std::int64_t>(next_seq_)).end_object();
    return out;
}

void journal::clear() {
    entries_.clear();
}

}  // namespace s1sim
