#include "s1pilot/config/secret.hpp"

#include "s1pilot/config/defaults.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace s1pilot::config {
namespace {

// Closes a descriptor on every path out of read_file.
struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

std::string octal_mode(mode_t mode) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(mode & 07777));
    return buffer;
}

std::string empty_message(const secret_source& source, std::string_view what) {
    if (std::holds_alternative<secret_file>(source))
        return describe(source) + " is empty: write the " + std::string(what) + " into it";
    return describe(source) + " is empty: set it to the " + std::string(what);
}

bool blank(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool control_or_space(char c) noexcept {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7F;
}

std::variant<secret, secret_error> read_file(const std::filesystem::path& path, std::string_view what) {
    const std::string p = path.string();
    const std::string subject = "file " + p;
    struct stat link_status {};
    if (::lstat(p.c_str(), &link_status) != 0) {
        if (errno == ENOENT)
            return secret_error{subject + " does not exist: create it (chmod 600) or correct the path"};
        return secret_error{subject + " cannot be inspected: " + std::strerror(errno)};
    }
    if (S_ISLNK(link_status.st_mode))
        return secret_error{subject + " is a symbolic link: name the file itself, not a link to it"};
    if (!S_ISREG(link_status.st_mode)) return secret_error{subject + " is not a regular file"};

    // O_NOFOLLOW and fstat on the opened descriptor: what we check is what we read, even if the
    // path is swapped between lstat and open.
    fd_guard file{::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
    if (file.fd < 0) return secret_error{subject + " cannot be opened: " + std::strerror(errno)};
    struct stat status {};
    if (::fstat(file.fd, &status) != 0 || !S_ISREG(status.st_mode))
        return secret_error{subject + " is not a regular file"};
    if ((status.st_mode & 077) != 0)
        return secret_error{subject + " is readable or writable by group or others (mode " +
                            octal_mode(status.st_mode) + "): run chmod 600 " + p};
    const uid_t me = ::geteuid();
    if (status.st_uid != me)
        return secret_error{subject + " is owned by uid " + std::to_string(status.st_uid) +
                            ", not by the user s1pilot runs as (uid " + std::to_string(me) + "): run chown " +
                            std::to_string(me) + " " + p};
    if (static_cast<std::uintmax_t>(status.st_size) > defaults::max_secret_size)
        return secret_error{subject + " is larger than 64 KiB: it does not hold a token"};

    std::string value(static_cast<std::size_t>(status.st_size), '\0');
    std::size_t filled = 0;
    while (filled < value.size()) {
        ssize_t n = ::read(file.fd, value.data() + filled, value.size() - filled);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            OPENSSL_cleanse(value.data(), value.size());
            return secret_error{subject + " cannot be read: " + std::strerror(errno)};
        }
        if (n == 0) break;
        filled += static_cast<std::size_t>(n);
    }
    value.resize(filled);
    if (!value.empty() && value.back() == '\n') {
        value.pop_back();
        if (!value.empty() && value.back() == '\r') value.pop_back();
    }
    if (value.empty()) return secret_error{empty_message(secret_file{path}, what)};
    secret result{std::move(value)};
    return result;
}

}  // namespace

std::string describe(const secret_source& source) {
    if (auto* f = std::get_if<secret_file>(&source)) return "file " + f->path.string();
    return "environment variable " + std::get<secret_env>(source).name;
}

secret::secret(secret&& other) noexcept : value_(other.value_) {
    other.wipe();
}

secret& secret::operator=(const secret& other) {
    if (this != &other) {
        wipe();
        value_ = other.value_;
    }
    return *this;
}

secret& secret::operator=(secret&& other) noexcept {
    if (this != &other) {
        wipe();
        value_ = other.value_;
        other.wipe();
    }
    return *this;
}

secret::~secret() {
    wipe();
}

void secret::wipe() noexcept {
    if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
    value_.clear();
}

std::variant<secret, secret_error> read_secret(const secret_source& source, std::string_view what) {
    if (auto* f = std::get_if<secret_file>(&source)) return read_file(f->path, what);
    const std::string& name = std::get<secret_env>(source).name;
    const char* value = std::getenv(name.c_str());
    if (value == nullptr)
        return secret_error{"environment variable " + name + " is not set: export it or use {file: PATH}"};
    std::string text = value;
    if (text.empty()) return secret_error{empty_message(source, what)};
    secret result{std::move(text)};
    return result;
}

std::variant<secret, secret_error> read_token(const secret_source& source) {
    auto value = read_secret(source, "token");
    const auto* read = std::get_if<secret>(&value);
    if (read == nullptr) return value;
    std::string_view text = read->reveal();
    while (!text.empty() && blank(text.back())) text.remove_suffix(1);
    if (text.empty()) return secret_error{empty_message(source, "token")};
    // The message names the source, never the value, nor where in it the character is.
    if (std::any_of(text.begin(), text.end(), control_or_space))
        return secret_error{describe(source) +
                            ": the token contains a control character or space; a token is one line of printable "
                            "characters"};
    if (text.size() == read->reveal().size()) return value;
    return secret{std::string(text)};
}

}  // namespace s1pilot::config
