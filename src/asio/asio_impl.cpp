// Asio, Asio's SSL support and Beast are compiled once, here (separate compilation): every
// other translation unit includes only their declarations, which saves ~30 s per file on a
// 2-core machine. BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION are
// defined for every target that links s1pilot_asio.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
