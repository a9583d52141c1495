#pragma once
// The JSON Schema of the playbook format, for `s1pilot schema` and editors.

#include <boost/json/object.hpp>

namespace s1pilot::config {

/// JSON Schema draft 2020-12 of a playbook file. Its `match` property is filter::match_schema(),
/// generated from the filter key table; the other properties follow playbook.hpp. What a schema
/// cannot say (the scope rule, `every` >= 5s, unique names) is checked by `s1pilot validate`.
boost::json::object playbook_schema();

}  // namespace s1pilot::config
