# Install rules and the Debian package. One list of files serves `cmake --install` (the
# container image's build stage) and `cpack -G DEB` (the .deb), so the two cannot drift apart.
#
#   cpack -G DEB --config build/release/CPackConfig.cmake      # s1pilot_<version>_<arch>.deb
#   DESTDIR=/out cmake --install build/release --prefix /usr --strip
#
# Paths: the programs, the unit, the docs and the monitoring files follow the prefix (/usr in the
# package); the example configuration always goes to /etc/s1pilot, where the daemon and the unit
# look for it whatever the prefix.
include(GNUInstallDirs)

# Installing (and so cpack, which installs first) needs s1pilot and s1sim only, not every test and
# benchmark that `all` builds: build those two, then install or package.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(S1PILOT_INSTALL_CONFDIR "/etc/s1pilot" CACHE PATH "Where the example configuration and playbooks are installed")
set(S1PILOT_INSTALL_UNITDIR "lib/systemd/system" CACHE STRING "Where the systemd unit is installed (relative: under the prefix)")

foreach(program IN ITEMS s1pilot s1sim)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
install(FILES systemd/s1pilot.service DESTINATION ${S1PILOT_INSTALL_UNITDIR})

# The example configuration and playbooks, 0644: the daemon's user must read them, and they hold
# no secret (tokens and keys come from /etc/s1pilot/credentials through LoadCredential=).
file(GLOB S1PILOT_EXAMPLE_PLAYBOOKS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/config/playbooks/*.yaml)
install(FILES config/s1pilot.yaml DESTINATION ${S1PILOT_INSTALL_CONFDIR})
install(FILES ${S1PILOT_EXAMPLE_PLAYBOOKS} DESTINATION ${S1PILOT_INSTALL_CONFDIR}/playbooks)

file(GLOB S1PILOT_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES README.md ${S1PILOT_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB S1PILOT_PROMETHEUS_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/prometheus/*.yaml)
file(GLOB S1PILOT_GRAFANA_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/grafana/*.json)
install(FILES ${S1PILOT_PROMETHEUS_FILES} DESTINATION ${CMAKE_INSTALL_DATADIR}/s1pilot/prometheus)
install(FILES ${S1PILOT_GRAFANA_FILES} DESTINATION ${CMAKE_INSTALL_DATADIR}/s1pilot/grafana)

# --- The Debian package ---------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME s1pilot)
set(CPACK_PACKAGE_VENDOR s1pilot)
set(CPACK_PACKAGE_CONTACT "s1pilot maintainers <s1pilot@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "s1pilot carries out SentinelOne response playbooks (YAML) through rate-limited, retried\n"
    "HTTPS calls, exactly once per threat and action, and records every decision in a\n"
    "hash-chained audit log. s1sim, a SentinelOne console simulator, is included for trying\n"
    "playbooks safely.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
# The configuration goes to an absolute /etc path: stage the install with DESTDIR so that it
# lands in the package, never on the machine that builds it.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps computes the libraries' packages; postinst needs adduser on top of them.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, sqlite3")
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

# Files under /etc are conffiles: an upgrade keeps the operator's edits (dpkg asks when both
# sides changed) and a removal without purge leaves them in place.
set(S1PILOT_CONFFILES "${S1PILOT_INSTALL_CONFDIR}/s1pilot.yaml\n")
foreach(playbook IN LISTS S1PILOT_EXAMPLE_PLAYBOOKS)
  get_filename_component(name ${playbook} NAME)
  string(APPEND S1PILOT_CONFFILES "${S1PILOT_INSTALL_CONFDIR}/playbooks/${name}\n")
endforeach()
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/debian/conffiles CONTENT "${S1PILOT_CONFFILES}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/debian/conffiles
    ${PROJECT_SOURCE_DIR}/cmake/debian/postinst
    ${PROJECT_SOURCE_DIR}/cmake/debian/prerm
    ${PROJECT_SOURCE_DIR}/cmake/debian/postrm)
# Maintainer scripts 0755 and conffiles 0644, whatever the checkout's modes are.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
