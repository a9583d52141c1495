// Reading secrets: what is accepted, what is refused, and that a value never leaks in a message.
#include "s1pilot/config/secret.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sys/stat.h>
#include <unistd.h>

using namespace s1pilot::config;
namespace fs = std::filesystem;

namespace {

// A secret cannot be streamed: the deleted operator<< makes this expression ill-formed.
template <typename T>
concept streamable = requires(std::ostream& out, const T& value) {
    out << value;
};
static_assert(streamable<std::string>);
static_assert(!streamable<secret>);

class SecretFile : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("s1pilot-secret-test-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path write(const std::string& name, const std::string& content, mode_t mode) {
        fs::path p = dir_ / name;
        std::ofstream(p, std::ios::binary) << content;
        ::chmod(p.c_str(), mode);
        return p;
    }

    static std::string error_of(const secret_source& source) {
        auto value = read_secret(source, "token");
        auto* error = std::get_if<secret_error>(&value);
        return error != nullptr ? error->message : "(no error)";
    }

    static std::string token_error_of(const secret_source& source) {
        auto value = read_token(source);
        auto* error = std::get_if<secret_error>(&value);
        return error != nullptr ? error->message : "(no error)";
    }

    fs::path dir_;
};

TEST_F(SecretFile, ReadsAndStripsOneTrailingNewline) {
    auto p = write("token", "s3cr3t-value\n", 0600);
    auto value = read_secret(secret_file{p}, "token");
    ASSERT_TRUE(std::holds_alternative<secret>(value));
    EXPECT_EQ(std::get<secret>(value).reveal(), "s3cr3t-value");
    auto two = write("two", "abc\n\n", 0400);
    EXPECT_EQ(std::get<secret>(read_secret(secret_file{two})).reveal(), "abc\n");
}

TEST_F(SecretFile, GroupOrWorldReadableIsRefused) {
    auto p = write("token", "s3cr3t-value\n", 0644);
    EXPECT_EQ(
        error_of(secret_file{p}),
        "file " + p.string() + " is readable or writable by group or others (mode 0644): run chmod 600 " + p.string());
    auto g = write("group", "s3cr3t-value\n", 0640);
    EXPECT_EQ(
        error_of(secret_file{g}),
        "file " + g.string() + " is readable or writable by group or others (mode 0640): run chmod 600 " + g.string());
}

TEST_F(SecretFile, SymbolicLinkIsRefused) {
    auto target = write("target", "s3cr3t-value\n", 0600);
    fs::create_symlink(target, dir_ / "link");
    EXPECT_EQ(error_of(secret_file{dir_ / "link"}),
              "file " + (dir_ / "link").string() + " is a symbolic link: name the file itself, not a link to it");
}

TEST_F(SecretFile, MissingIsRefused) {
    EXPECT_EQ(error_of(secret_file{dir_ / "absent"}),
              "file " + (dir_ / "absent").string() + " does not exist: create it (chmod 600) or correct the path");
}

TEST_F(SecretFile, EmptyIsRefused) {
    auto p = write("empty", "\n", 0600);
    EXPECT_EQ(error_of(secret_file{p}), "file " + p.string() + " is empty: write the token into it");
}

TEST_F(SecretFile, DirectoryIsRefused) {
    EXPECT_EQ(error_of(secret_file{dir_}), "file " + dir_.string() + " is not a regular file");
}

TEST_F(SecretFile, OwnedBySomeoneElseIsRefused) {
    if (::geteuid() != 0) GTEST_SKIP() << "changing a file's owner needs root";
    auto p = write("foreign", "s3cr3t-value\n", 0600);
    ASSERT_EQ(::chown(p.c_str(), 65534, 65534), 0);
    EXPECT_EQ(error_of(secret_file{p}),
              "file " + p.string() + " is owned by uid 65534, not by the user s1pilot runs as (uid 0): run chown 0 " +
                  p.string());
}

TEST_F(SecretFile, NoMessageContainsTheValue) {
    for (mode_t mode : {0644, 0604, 0660}) {
        auto p = write("leak", "s3cr3t-value\n", mode);
        EXPECT_EQ(error_of(secret_file{p}).find("s3cr3t"), std::string::npos);
    }
}

TEST_F(SecretFile, TokenLosesItsTrailingWhitespace) {
    for (const char* content : {"tok\n\n", "tok\r\n", "tok  ", "tok \t\r\n\n", "tok"}) {
        auto value = read_token(secret_file{write("t", content, 0600)});
        ASSERT_TRUE(std::holds_alternative<secret>(value)) << std::get<secret_error>(value).message;
        EXPECT_EQ(std::get<secret>(value).reveal(), "tok");
    }
    // read_secret (the HMAC key: any bytes) still removes one newline only.
    EXPECT_EQ(std::get<secret>(read_secret(secret_file{write("k", "key \n", 0600)})).reveal(), "key ");
}

TEST_F(SecretFile, TokenWithAControlCharacterOrASpaceIsRefusedWithoutItsValue) {
    const std::string canary = "CANARY-5d1e";
    for (const std::string& content :
         {"to\r" + canary + "\n", std::string("to\0", 3) + canary, "to " + canary, canary + "\nsecond-line\n",
          "\t" + canary, canary + "\x7f", canary + "\x1b[0m"}) {
        auto p = write("t", content, 0600);
        const std::string message = token_error_of(secret_file{p});
        EXPECT_EQ(message, "file " + p.string() +
                               ": the token contains a control character or space; a token is one line of printable "
                               "characters");
        EXPECT_EQ(message.find(canary), std::string::npos);
    }
    auto blank = write("blank", "  \r\n\n", 0600);
    auto value = read_token(secret_file{blank});
    ASSERT_TRUE(std::holds_alternative<secret_error>(value));
    EXPECT_EQ(std::get<secret_error>(value).message, "file " + blank.string() + " is empty: write the token into it");
}

TEST(SecretEnv, TokenIsTrimmedAndChecked) {
    ::setenv("S1PILOT_SECRET_TEST", "from-env \n", 1);
    auto value = read_token(secret_env{"S1PILOT_SECRET_TEST"});
    ASSERT_TRUE(std::holds_alternative<secret>(value));
    EXPECT_EQ(std::get<secret>(value).reveal(), "from-env");
    ::setenv("S1PILOT_SECRET_TEST", "from\renv-CANARY", 1);
    value = read_token(secret_env{"S1PILOT_SECRET_TEST"});
    ASSERT_TRUE(std::holds_alternative<secret_error>(value));
    EXPECT_EQ(std::get<secret_error>(value).message,
              "environment variable S1PILOT_SECRET_TEST: the token contains a control character or space; a token is "
              "one line of printable characters");
    ::setenv("S1PILOT_SECRET_TEST", "\n", 1);
    value = read_token(secret_env{"S1PILOT_SECRET_TEST"});
    ASSERT_TRUE(std::holds_alternative<secret_error>(value));
    EXPECT_EQ(std::get<secret_error>(value).message,
              "environment variable S1PILOT_SECRET_TEST is empty: set it to the token");
    ::unsetenv("S1PILOT_SECRET_TEST");
}

TEST(SecretEnv, ReadsTheVariable) {
    ::setenv("S1PILOT_SECRET_TEST", "from-env", 1);
    auto value = read_secret(secret_env{"S1PILOT_SECRET_TEST"});
    ::unsetenv("S1PILOT_SECRET_TEST");
    ASSERT_TRUE(std::holds_alternative<secret>(value));
    EXPECT_EQ(std::get<secret>(value).reveal(), "from-env");
}

TEST(SecretEnv, UnsetAndEmptyAreRefused) {
    ::unsetenv("S1PILOT_SECRET_TEST");
    EXPECT_EQ(std::get<secret_error>(read_secret(secret_env{"S1PILOT_SECRET_TEST"}, "token")).message,
              "environment variable S1PILOT_SECRET_TEST is not set: export it or use {file: PATH}");
    ::setenv("S1PILOT_SECRET_TEST", "", 1);
    EXPECT_EQ(std::get<secret_error>(read_secret(secret_env{"S1PILOT_SECRET_TEST"}, "token")).message,
              "environment variable S1PILOT_SECRET_TEST is empty: set it to the token");
    ::unsetenv("S1PILOT_SECRET_TEST");
}

TEST(Secret, MovedFromIsEmptyAndDescribeNamesOnlyTheSource) {
    secret a{"value"};
    secret b{std::move(a)};
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): wiping is the contract
    EXPECT_EQ(b.reveal(), "value");
    EXPECT_EQ(describe(secret_source{secret_env{"S1_API_TOKEN"}}), "environment variable S1_API_TOKEN");
    EXPECT_EQ(describe(secret_source{secret_file{"/run/x"}}), "file /run/x");
}

}  // namespace
