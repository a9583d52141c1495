#pragma once
// Secrets (API tokens, the audit HMAC key, the admin token): where they come from, and a holder
// that keeps the value out of every log line, message and formatted output.

#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>
#include <variant>

namespace s1pilot::config {

/// `{file: PATH}`: read from a file (systemd LoadCredential=, a mounted secret).
struct secret_file {
    std::filesystem::path path;  ///< absolute, or relative to the configuration file's directory
    bool operator==(const secret_file&) const = default;
};

/// `{env: NAME}`: read from an environment variable.
struct secret_env {
    std::string name;
    bool operator==(const secret_env&) const = default;
};

/// Where a secret comes from. Never the secret itself: an inline value is refused at load.
using secret_source = std::variant<secret_file, secret_env>;

/// `file /path/to/token` or `environment variable NAME`, for messages. Never the value.
std::string describe(const secret_source& source);

/// A secret value. It cannot be streamed or formatted (no operator<<, no fmt formatter), so it
/// cannot reach a log line by accident; `reveal()` is the one way to the bytes, for the code
/// that puts them on the wire. The memory is wiped when the value is destroyed.
class secret {
public:
    secret() = default;
    explicit secret(std::string value) : value_(std::move(value)) {}
    secret(const secret&) = default;
    secret(secret&& other) noexcept;
    secret& operator=(const secret& other);
    secret& operator=(secret&& other) noexcept;
    ~secret();

    std::string_view reveal() const noexcept { return value_; }
    bool empty() const noexcept { return value_.empty(); }

    friend std::ostream& operator<<(std::ostream&, const secret&) = delete;

private:
    void wipe() noexcept;
    std::string value_;
};

/// What went wrong reading a secret: a message that names the path or variable, what is wrong
/// and what to do; never any of the content.
struct secret_error {
    std::string message;
};

/// Reads a secret. A file must be a regular file (not a symbolic link), owned by the user
/// s1pilot runs as and not readable by group or others (mode & 077 == 0); one trailing newline
/// is removed; an empty value is an error. Messages start with `file PATH` or `environment
/// variable NAME`; `what` names the secret where a message needs it ("write the token into it").
std::variant<secret, secret_error> read_secret(const secret_source& source, std::string_view what = "secret");

/// Reads an API or admin token (it goes into an HTTP header): read_secret, then trailing
/// whitespace (spaces, tabs, CR, LF) is removed, and a value that is then empty, or holds a
/// control character or a space, is an error: `file PATH: the token contains a control character
/// or space; a token is one line of printable characters` (or `environment variable NAME: ...`).
std::variant<secret, secret_error> read_token(const secret_source& source);

}  // namespace s1pilot::config
