// Note texts: placeholders are parsed once at load; a run only substitutes.
#include "s1pilot/config/note_template.hpp"

#include <gtest/gtest.h>

using namespace s1pilot::config;

namespace {

std::string value_of(placeholder p) {
    for (const auto& spec : placeholders())
        if (spec.id == p) return "<" + std::string(spec.name) + ">";
    return "?";
}

TEST(NoteTemplate, RendersEveryKnownPlaceholder) {
    std::string text;
    std::string expected;
    for (const auto& spec : placeholders()) {
        text += "{{" + std::string(spec.name) + "}} ";
        expected += "<" + std::string(spec.name) + "> ";
    }
    std::string error;
    auto t = note_template::parse(text, error);
    ASSERT_TRUE(t) << error;
    EXPECT_EQ(t->render(value_of), expected);
    EXPECT_TRUE(t->per_threat());
}

TEST(NoteTemplate, RunLevelOnlyIsNotPerThreat) {
    std::string error;
    auto t = note_template::parse("Contained by {{ playbook }} in run {{run}}.", error);
    ASSERT_TRUE(t);
    EXPECT_FALSE(t->per_threat());
    EXPECT_EQ(t->render(value_of), "Contained by <playbook> in run <run>.");
    EXPECT_EQ(t->text(), "Contained by {{ playbook }} in run {{run}}.");
}

TEST(NoteTemplate, SingleBracesAreText) {
    std::string error;
    auto t = note_template::parse("json {\"a\": 1} stays", error);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->render(value_of), "json {\"a\": 1} stays");
}

TEST(NoteTemplate, Errors) {
    std::string error;
    EXPECT_FALSE(note_template::parse("by {{playbook", error));
    EXPECT_EQ(error, R"("{{" without a closing "}}")");
    EXPECT_FALSE(note_template::parse("{{threadid}}", error));
    EXPECT_EQ(error, "unknown placeholder {{threadid}}; did you mean {{threat_id}}?");
}

}  // namespace
