// The daemon configuration: defaults, paths, consoles, and every invalid fixture's exact text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "test_support.hpp"

using namespace s1pilot;
using namespace s1pilot::config;
using namespace std::chrono_literals;
using ::testing::ElementsAre;

namespace {

const std::filesystem::path source_config = std::filesystem::path(S1PILOT_SOURCE_DIR) / "config";

class ConfigTest : public ::testing::Test {
protected:
    void SetUp() override { ::setenv("S1PILOT_TEST_TOKEN", "test-token-value", 1); }
    void TearDown() override { ::unsetenv("S1PILOT_TEST_TOKEN"); }

    static std::vector<std::string> invalid_config(const std::string& name) {
        auto result = load_config(fixtures::invalid_dir / name);
        EXPECT_FALSE(result.ok());
        EXPECT_FALSE(result.config);
        return fixtures::messages(result.diagnostics, fixtures::invalid_dir);
    }
};

TEST_F(ConfigTest, ShippedExamplesParse) {
    for (const char* name : {"s1pilot.yaml", "demo.yaml"}) {
        std::vector<core::diagnostic> d;
        std::ifstream in(source_config / name);
        std::string text{std::istreambuf_iterator<char>(in), {}};
        EXPECT_TRUE(parse_config(text, source_config / name, d)) << name;
        EXPECT_EQ(fixtures::messages(d, source_config), std::vector<std::string>{}) << name;
    }
}

TEST_F(ConfigTest, ProductionExampleHasEveryField) {
    std::vector<core::diagnostic> d;
    std::ifstream in(source_config / "s1pilot.yaml");
    std::string text{std::istreambuf_iterator<char>(in), {}};
    auto c = parse_config(text, source_config / "s1pilot.yaml", d);
    ASSERT_TRUE(c);
    const console_config& prod = c->consoles.at("prod");
    EXPECT_EQ(prod.url, "https://usea1-acme.sentinelone.net");
    EXPECT_EQ(prod.host, "usea1-acme.sentinelone.net");
    EXPECT_EQ(prod.port, 443);
    EXPECT_EQ(prod.token_source, secret_source{secret_file{"/run/credentials/s1pilot.service/s1-token"}});
    EXPECT_EQ(prod.ca_file, std::filesystem::path("/etc/s1pilot/corp-ca.pem"));
    EXPECT_EQ(prod.proxy, (proxy_config{"proxy.corp", 3128}));
    EXPECT_EQ(prod.read, (rate_limit{5, 10}));
    EXPECT_EQ(prod.write, (rate_limit{2, 4}));
    EXPECT_EQ(prod.connect_timeout, 10s);
    EXPECT_EQ(prod.request_timeout, 30s);
    EXPECT_EQ(prod.call_timeout, 120s);
    EXPECT_EQ(prod.batch_size, 100);
    EXPECT_EQ(c->playbook_dir, std::filesystem::path("/etc/s1pilot/playbooks"));
    EXPECT_EQ(c->state, std::filesystem::path("/var/lib/s1pilot/state.db"));
    EXPECT_EQ(c->audit.rotate_size, 100u * 1024 * 1024);
    EXPECT_EQ(c->audit.keep, 20);
    EXPECT_TRUE(c->audit.hmac_key_source);
    EXPECT_EQ(c->admin.host, "127.0.0.1");
    EXPECT_EQ(c->admin.port, 9109);
    EXPECT_TRUE(c->admin.token_source);
    EXPECT_EQ(c->retry.max_attempts, 5);
    EXPECT_EQ(c->retry.base, 500ms);
    EXPECT_EQ(c->retry.cap, 30s);
    EXPECT_EQ(c->log.level, log_level::info);
    EXPECT_EQ(c->log.format, log_format::json);
}

TEST_F(ConfigTest, DefaultsAndRelativePathsResolveAgainstTheConfigDirectory) {
    auto result = load_config(fixtures::valid_dir / "config" / "s1pilot.yaml");
    ASSERT_TRUE(result.ok()) << fixtures::messages(result.diagnostics, fixtures::valid_dir).front();
    const daemon_config& c = *result.config;
    const auto base = fixtures::valid_dir / "config";
    EXPECT_EQ(c.state, base / "run" / "state.db");
    EXPECT_EQ(c.audit.path, base / "run" / "audit.jsonl");
    EXPECT_EQ(c.audit.rotate_size, defaults::audit_rotate_size);
    EXPECT_FALSE(c.audit.hmac_key_source);
    EXPECT_EQ(c.playbook_files, std::vector<std::filesystem::path>({base / "playbooks" / "triage-suspicious.yaml"}));
    const console_config& sim = c.consoles.at("sim");
    EXPECT_EQ(sim.port, 9443);
    EXPECT_EQ(sim.token.reveal(), "test-token-value");
    EXPECT_EQ(sim.read, (rate_limit{defaults::read_rate, defaults::read_burst}));
    EXPECT_EQ(sim.call_timeout, defaults::call_timeout);
    EXPECT_EQ(c.log.format, log_format::json);
    ASSERT_EQ(result.playbooks.size(), 1u);
    EXPECT_EQ(result.playbooks[0].console, "sim");  // the only console
}

TEST_F(ConfigTest, UnsetTokenVariableIsInvalid) {
    ::unsetenv("S1PILOT_TEST_TOKEN");
    auto result = load_config(fixtures::valid_dir / "config" / "s1pilot.yaml");
    EXPECT_FALSE(result.ok());
    EXPECT_THAT(fixtures::messages(result.diagnostics, fixtures::valid_dir),
                ElementsAre("config/s1pilot.yaml:4:12: consoles.sim.token: environment variable S1PILOT_TEST_TOKEN "
                            "is not set: export it or use {file: PATH}"));
    load_options no_secrets;
    no_secrets.read_secrets = false;
    EXPECT_TRUE(load_config(fixtures::valid_dir / "config" / "s1pilot.yaml", no_secrets).ok());
}

TEST_F(ConfigTest, InlineTokenIsRefusedWithoutEchoingIt) {
    auto got = invalid_config("config-inline-token.yaml");
    EXPECT_THAT(got, ElementsAre("config-inline-token.yaml:4:12: consoles.prod.token must not be written inline: use "
                                 "{file: PATH} or {env: NAME}"));
    for (const auto& m : got) EXPECT_EQ(m.find("eyJ"), std::string::npos);
}

TEST_F(ConfigTest, HttpUrlIsRefused) {
    auto got = invalid_config("config-http-url.yaml");
    EXPECT_THAT(got, ElementsAre("config-http-url.yaml:3:10: consoles.prod.url: must use https (the token must not "
                                 "travel in clear text)"));
    for (const auto& m : got) EXPECT_EQ(m.find("usea1-acme"), std::string::npos);
}

// DESIGN §2: no secret in an error message. Under consoles, a value in the wrong place may be a
// credential (a password in a URL, a token pasted as a console), so no value there is echoed.
TEST_F(ConfigTest, NoValueUnderConsolesOrSecretsIsEchoed) {
    const std::string canary = "CANARY-9b2c";
    const std::string text =
        "consoles:\n"
        "  creds:\n"
        "    url: https://user:" +
        canary +
        "@x.sentinelone.net\n"
        "    token: {env: T}\n"
        "  query:\n"
        "    url: https://x.sentinelone.net/?token=" +
        canary +
        "\n"
        "    token: {env: T}\n"
        "  fragment:\n"
        "    url: https://x.sentinelone.net/#" +
        canary +
        "\n"
        "    token: {env: T}\n"
        "  pasted: " +
        canary +
        "\n"
        "  junk:\n"
        "    url: " +
        canary +
        "\n"
        "    token: {" +
        canary +
        "}\n"
        "    proxy: http://proxy.corp:3128/?key=" +
        canary +
        "\n"
        "    batch_size: " +
        canary +
        "\n"
        "    timeouts: {connect: " +
        canary +
        "}\n"
        "    rate_limits: {read: " +
        canary +
        "}\n"
        "  path:\n"
        "    url: https://x.sentinelone.net/" +
        canary +
        "\n"
        "    token: {env: T}\n"
        "  port:\n"
        "    url: https://x.sentinelone.net:99999\n"
        "    token: {env: T}\n"
        "playbooks: []\n"
        "audit: {hmac_key: {" +
        canary +
        "}}\n"
        "admin: {token: " +
        canary + "}\n";
    std::vector<core::diagnostic> d;
    EXPECT_FALSE(parse_config(text, "s1pilot.yaml", d));
    auto got = fixtures::messages(d, "");
    EXPECT_THAT(
        got,
        ElementsAre(
            "s1pilot.yaml:3:10: consoles.creds.url: must not contain user credentials (the token authenticates)",
            "s1pilot.yaml:6:10: consoles.query.url: must not contain a query or fragment",
            "s1pilot.yaml:9:10: consoles.fragment.url: must not contain a query or fragment",
            "s1pilot.yaml:11:11: consoles.pasted: expected a mapping with url and token",
            "s1pilot.yaml:13:10: consoles.junk.url: expected https://HOST[:PORT]",
            "s1pilot.yaml:14:13: consoles.junk.token: unknown key (not shown); expected {file: PATH} or {env: NAME}",
            "s1pilot.yaml:15:12: consoles.junk.proxy: must not contain a query or fragment",
            "s1pilot.yaml:16:17: consoles.junk.batch_size: expected a whole number from 1 to 1000",
            "s1pilot.yaml:17:25: consoles.junk.timeouts.connect: expected a duration like 30s, 5m, 24h",
            "s1pilot.yaml:18:25: consoles.junk.rate_limits.read: expected a mapping like {rate: 5, burst: 10}",
            "s1pilot.yaml:20:10: consoles.path.url: must not contain a path (s1pilot adds /web/api/v2.1): expected "
            "https://HOST[:PORT]",
            "s1pilot.yaml:23:10: consoles.port.url: the port must be a number from 1 to 65535",
            "s1pilot.yaml:26:20: audit.hmac_key: unknown key (not shown); expected {file: PATH} or {env: NAME}",
            "s1pilot.yaml:27:16: admin.token must not be written inline: use {file: PATH} or {env: NAME}"));
    for (const auto& m : got) EXPECT_EQ(m.find(canary), std::string::npos) << m;

    d.clear();
    EXPECT_FALSE(parse_config("consoles: " + canary + "\nplaybooks: []\n", "s1pilot.yaml", d));
    EXPECT_THAT(fixtures::messages(d, ""),
                ElementsAre("s1pilot.yaml:1:11: consoles: expected a mapping of console names to {url, token}"));
    d.clear();
    EXPECT_FALSE(parse_config("consoles: {prod: SOME-TOKEN-" + canary + "}\nplaybooks: []\n", "s1pilot.yaml", d));
    EXPECT_THAT(fixtures::messages(d, ""),
                ElementsAre("s1pilot.yaml:1:18: consoles.prod: expected a mapping with url and token"));
    // Outside consoles and secrets, a wrong value is still shown: it helps, and it is no secret.
    d.clear();
    EXPECT_FALSE(parse_config("consoles: {prod: [a]}\nlog: {level: loud}\n", "s1pilot.yaml", d));
    EXPECT_THAT(
        fixtures::messages(d, ""),
        ElementsAre("s1pilot.yaml:1:18: consoles.prod: expected a mapping with url and token, not a list",
                    R"(s1pilot.yaml:2:14: log.level: expected one of trace, debug, info, warn, error, not "loud")"));
}

TEST_F(ConfigTest, TokensAreTrimmedAndCheckedWithoutEchoingThem) {
    ::setenv("S1PILOT_TEST_TOKEN", "test-token-value\r\n", 1);
    auto result = load_config(fixtures::valid_dir / "config" / "s1pilot.yaml");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.config->consoles.at("sim").token.reveal(), "test-token-value");
    ::setenv("S1PILOT_TEST_TOKEN", "test-token\r-CANARY", 1);
    result = load_config(fixtures::valid_dir / "config" / "s1pilot.yaml");
    EXPECT_FALSE(result.ok());
    EXPECT_THAT(fixtures::messages(result.diagnostics, fixtures::valid_dir),
                ElementsAre("config/s1pilot.yaml:4:12: consoles.sim.token: environment variable S1PILOT_TEST_TOKEN: "
                            "the token contains a control character or space; a token is one line of printable "
                            "characters"));
}

TEST_F(ConfigTest, MisspeltKeysAndBadValues) {
    EXPECT_THAT(
        invalid_config("config-misspelt-key.yaml"),
        ElementsAre(
            R"(config-misspelt-key.yaml:3:5: missing required key "token" in consoles.prod ({file: PATH} or {env: NAME}))",
            R"(config-misspelt-key.yaml:4:5: unknown key "tokn" in consoles.prod; did you mean "token"?)",
            "config-misspelt-key.yaml:5:17: consoles.prod.batch_size: expected a whole number from 1 to 1000",
            "config-misspelt-key.yaml:7:42: retry.cap: must not be shorter than retry.base",
            R"(config-misspelt-key.yaml:8:14: log.level: expected one of trace, debug, info, warn, error, not "verbose")",
            R"(config-misspelt-key.yaml:8:31: log.format: expected one of json, text, not "xml")"));
}

TEST_F(ConfigTest, ProxyCredentialsAndOtherShapes) {
    auto got = invalid_config("config-proxy-credentials.yaml");
    EXPECT_THAT(
        got,
        ElementsAre(
            "config-proxy-credentials.yaml:5:12: consoles.prod.proxy: proxy credentials are not "
            "supported (they would be a secret written inline)",
            "config-proxy-credentials.yaml:7:10: consoles.lab.url: must not contain a path (s1pilot adds "
            "/web/api/v2.1): expected https://HOST[:PORT]",
            "config-proxy-credentials.yaml:8:12: consoles.lab.token: give either file or env, not both",
            "config-proxy-credentials.yaml:10:20: consoles.lab.rate_limits.read.rate: expected a number greater than 0",
            "config-proxy-credentials.yaml:11:25: consoles.lab.timeouts.connect: expected a duration like 30s, 5m, 24h",
            "config-proxy-credentials.yaml:11:37: consoles.lab.timeouts.call: expected a duration like 30s, 5m, 24h",
            R"(config-proxy-credentials.yaml:13:17: admin.listen: expected HOST:PORT like 127.0.0.1:9109, not "localhost")",
            R"(config-proxy-credentials.yaml:14:22: audit.rotate_size: expected a size like 512KiB, 100MiB, not "huge")",
            R"(config-proxy-credentials.yaml:14:34: audit.keep: expected a whole number from 1 to 10000, not "0")"));
    for (const auto& m : got) EXPECT_EQ(m.find("hunter2"), std::string::npos);
}

TEST_F(ConfigTest, PlaybookConsolesMustExist) {
    auto result = load_config(fixtures::invalid_dir / "unknown-console" / "s1pilot.yaml");
    EXPECT_FALSE(result.ok());
    EXPECT_THAT(
        fixtures::messages(result.diagnostics, fixtures::invalid_dir / "unknown-console"),
        ElementsAre(
            R"(playbooks/no-console.yaml:1:1: console: the configuration defines 2 consoles (lab, prod): name one with "console:")",
            R"(playbooks/wrong-console.yaml:2:10: console: unknown console "prdo"; did you mean "prod"?)"));
}

TEST_F(ConfigTest, GivenPlaybooksReplaceTheConfiguredOnes) {
    auto result = load_config(fixtures::valid_dir / "config" / "s1pilot.yaml",
                              {std::filesystem::path(S1PILOT_SOURCE_DIR) / "config" / "playbooks"});
    EXPECT_TRUE(result.ok());
    EXPECT_GE(result.playbooks.size(), 4u);
    for (const auto& p : result.playbooks) EXPECT_EQ(p.console, "sim");
}

TEST_F(ConfigTest, MissingConfigurationFile) {
    auto result = load_config(fixtures::invalid_dir / "no-such.yaml");
    EXPECT_THAT(fixtures::messages(result.diagnostics, fixtures::invalid_dir),
                ElementsAre("no-such.yaml: cannot read: No such file or directory"));
}

}  // namespace

TEST_F(ConfigTest, StateMayBeAPostgresUriWithItsPasswordApart) {
    const std::string head = "consoles: {prod: {url: https://x.sentinelone.net, token: {env: T}}}\nplaybooks: []\n";
    std::vector<core::diagnostic> d;
    auto c = parse_config(head +
                              "state: postgresql://s1pilot@db.corp:5432/s1pilot?sslmode=verify-full\n"
                              "state_password: {env: S1PILOT_DB_PASSWORD}\n",
                          "s1pilot.yaml", d);
    ASSERT_TRUE(c) << fixtures::messages(d, "").front();
    EXPECT_EQ(c->state_uri, "postgresql://s1pilot@db.corp:5432/s1pilot?sslmode=verify-full");
    EXPECT_TRUE(c->state.empty());
    EXPECT_EQ(c->state_password_source, (secret_source{secret_env{"S1PILOT_DB_PASSWORD"}}));

    // Several hosts and a socket directory, as libpq takes them; no password needed (peer, .pgpass).
    d.clear();
    c = parse_config(head + "state: postgres://s1pilot@db1:5432,db2:5432/s1pilot?host=/run/postgresql\n",
                     "s1pilot.yaml", d);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state_uri, "postgres://s1pilot@db1:5432,db2:5432/s1pilot?host=/run/postgresql");
    EXPECT_FALSE(c->state_password_source);

    // SQLite stays the default, and a path stays a path.
    d.clear();
    c = parse_config(head, "s1pilot.yaml", d);
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->state_uri.empty());
    EXPECT_EQ(c->state, std::filesystem::path("/var/lib/s1pilot/state.db"));
}

TEST_F(ConfigTest, APasswordInTheStateUriOrInlineIsRefusedWithoutEchoingIt) {
    const std::string head = "consoles: {prod: {url: https://x.sentinelone.net, token: {env: T}}}\nplaybooks: []\n";
    const std::string refused =
        "state: the PostgreSQL URI must not contain a password (it would be a secret written inline); give it in "
        "state_password: {file: PATH} or {env: NAME}";
    for (const std::string uri : {"postgresql://s1pilot:Hunter2-CANARY@db.corp/s1pilot",
                                  "postgresql://s1pilot@db.corp/s1pilot?sslmode=require&password=Hunter2-CANARY"}) {
        std::vector<core::diagnostic> d;
        EXPECT_FALSE(parse_config(head + "state: " + uri + "\n", "s1pilot.yaml", d));
        EXPECT_THAT(fixtures::messages(d, ""), ElementsAre("s1pilot.yaml:3:8: " + refused)) << uri;
    }
    std::vector<core::diagnostic> d;
    EXPECT_FALSE(parse_config(head + "state: postgresql://s1pilot@db.corp/s1pilot\nstate_password: Hunter2-CANARY\n",
                              "s1pilot.yaml", d));
    EXPECT_THAT(fixtures::messages(d, ""),
                ElementsAre("s1pilot.yaml:4:17: state_password must not be written inline: use {file: PATH} or "
                            "{env: NAME}"));
    d.clear();
    EXPECT_FALSE(parse_config(head + "state: /var/lib/s1pilot/state.db\nstate_password: {env: S1PILOT_DB_PASSWORD}\n",
                              "s1pilot.yaml", d));
    EXPECT_THAT(fixtures::messages(d, ""),
                ElementsAre("s1pilot.yaml:4:1: state_password: only a PostgreSQL ledger takes a password (state: "
                            "postgresql://...); remove it, or point state: at a PostgreSQL database"));
}

TEST_F(ConfigTest, TheStatePasswordIsReadLikeTheOtherSecrets) {
    const auto dir = std::filesystem::temp_directory_path() / ("s1pilot-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
        std::ofstream(dir / "s1pilot.yaml")
            << "consoles:\n"
               "  sim: {url: https://127.0.0.1:9443, token: {env: S1PILOT_TEST_TOKEN}}\n"
               "playbooks: []\n"
               "state: postgresql://s1pilot@127.0.0.1:5432/s1pilot\n"
               "state_password: {env: S1PILOT_TEST_DB_PASSWORD}\n";
    }
    ::setenv("S1PILOT_TEST_DB_PASSWORD", "db password", 1);  // any bytes: a space is fine in a password
    auto result = load_config(dir / "s1pilot.yaml");
    EXPECT_TRUE(result.ok()) << fixtures::messages(result.diagnostics, dir).front();
    ASSERT_TRUE(result.config);
    EXPECT_EQ(result.config->state_password.reveal(), "db password");
    ::unsetenv("S1PILOT_TEST_DB_PASSWORD");
    result = load_config(dir / "s1pilot.yaml");
    EXPECT_FALSE(result.ok());
    EXPECT_THAT(fixtures::messages(result.diagnostics, dir),
                ElementsAre(testing::StartsWith("s1pilot.yaml:5:17: state_password: environment variable "
                                                "S1PILOT_TEST_DB_PASSWORD")));
    std::filesystem::remove_all(dir);
}

TEST_F(ConfigTest, ClusterAndLeaseHaveDefaultsAndTakeValues) {
    const std::string head = "consoles: {prod: {url: https://x.sentinelone.net, token: {env: T}}}\nplaybooks: []\n";
    std::vector<core::diagnostic> d;
    auto c = parse_config(head, "s1pilot.yaml", d);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->cluster, "default");
    EXPECT_EQ(c->lease, (lease_config{2s, 5s}));

    c = parse_config(
        head + "state: postgresql://s1pilot@db.corp/s1pilot\ncluster: emea-1\nlease: {retry: 500ms, grace: 30s}\n",
        "s1pilot.yaml", d);
    ASSERT_TRUE(c) << fixtures::messages(d, "").front();
    EXPECT_EQ(c->cluster, "emea-1");
    EXPECT_EQ(c->lease, (lease_config{500ms, 30s}));

    // Accepted with SQLite too (one machine: the file lock already keeps a second daemon off).
    c = parse_config(head + "cluster: lab\nlease: {retry: 1s}\n", "s1pilot.yaml", d);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->lease, (lease_config{1s, 5s}));
    EXPECT_EQ(fixtures::messages(d, ""), std::vector<std::string>{});
}

TEST_F(ConfigTest, BadClusterAndLeaseValuesNameTheirPlace) {
    const std::string head = "consoles: {prod: {url: https://x.sentinelone.net, token: {env: T}}}\nplaybooks: []\n";
    auto problems = [&](const std::string& tail) {
        std::vector<core::diagnostic> d;
        EXPECT_FALSE(parse_config(head + tail, "s1pilot.yaml", d)) << tail;
        return fixtures::messages(d, "");
    };
    EXPECT_THAT(problems("cluster: \"emea 1\"\n"),
                ElementsAre("s1pilot.yaml:3:10: cluster: expected a name of 1 to 64 letters, digits, '-', '_' or "
                            "'.', not \"emea 1\""));
    EXPECT_THAT(problems("cluster: [a]\n"), ElementsAre(::testing::StartsWith("s1pilot.yaml:3:10: cluster: expected")));
    EXPECT_THAT(problems("lease: {retry: 10ms}\n"),
                ElementsAre("s1pilot.yaml:3:16: lease.retry: 10ms is out of range: from 100ms to 1m"));
    EXPECT_THAT(problems("lease: {retry: 2s, grace: 1h}\n"),
                ElementsAre("s1pilot.yaml:3:27: lease.grace: 1h is too long: the maximum is 10m"));
    EXPECT_THAT(problems("lease:\n  retry: 2s\n  gace: 5s\n"),
                ElementsAre("s1pilot.yaml:5:3: unknown key \"gace\" in lease; did you mean \"grace\"?"));
    EXPECT_THAT(problems("lease: 2s\n"),
                ElementsAre(::testing::StartsWith("s1pilot.yaml:3:8: lease: expected a mapping like {retry: 2s, "
                                                  "grace: 5s}")));
    EXPECT_THAT(problems("lease: {retry: soon}\n"),
                ElementsAre(::testing::StartsWith("s1pilot.yaml:3:16: lease.retry:")));
}
