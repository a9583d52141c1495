// `s1pilot schema`: the JSON Schema of the playbook format, indented for people and editors.
#include "s1pilot/config/schema.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <iostream>
#include <string>

#include "commands.hpp"

namespace s1pilot::app {
namespace {

// Boost.JSON serialises on one line; a schema is read by people too.
void pretty(std::ostream& out, const boost::json::value& v, std::string& indent) {
    switch (v.kind()) {
        case boost::json::kind::object: {
            const auto& object = v.get_object();
            if (object.empty()) {
                out << "{}";
                return;
            }
            out << "{\n";
            indent += "  ";
            bool first = true;
            for (const auto& member : object) {
                if (!first) out << ",\n";
                first = false;
                out << indent << boost::json::serialize(boost::json::value(member.key())) << ": ";
                pretty(out, member.value(), indent);
            }
            indent.resize(indent.size() - 2);
            out << "\n" << indent << "}";
            return;
        }
        case boost::json::kind::array: {
            const auto& array = v.get_array();
            if (array.empty()) {
                out << "[]";
                return;
            }
            out << "[\n";
            indent += "  ";
            bool first = true;
            for (const auto& element : array) {
                if (!first) out << ",\n";
                first = false;
                out << indent;
                pretty(out, element, indent);
            }
            indent.resize(indent.size() - 2);
            out << "\n" << indent << "]";
            return;
        }
        default: out << boost::json::serialize(v);
    }
}

}  // namespace

void add_schema_command(CLI::App& app, int& exit) {
    auto* command = app.add_subcommand("schema", "Print the JSON Schema (draft 2020-12) of the playbook format");
    command->callback([&exit] {
        std::string indent;
        pretty(std::cout, config::playbook_schema(), indent);
        std::cout << '\n';
        exit = std::cout.good() ? exit_ok : exit_failure;
    });
}

}  // namespace s1pilot::app
