#include "s1pilot/filter/keys.hpp"
