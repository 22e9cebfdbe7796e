# What `cmake --install` puts where, and the Debian package CPack makes of it:
#
#   cpack -G DEB                  # in a build dir, after building pipgate and pipgate-dns
#   → pipgate_<version>_<arch>.deb
#
#   /usr/bin/pipgate, /usr/bin/pipgate-dns           the executables (rpath to BoringSSL's dir)
#   /etc/pipgate/pipgate.toml                        deploy/pipgate.example.toml, a conffile
#   /usr/lib/systemd/system/pipgate.service          deploy/systemd/pipgate.service (hardened)
#   /usr/lib/sysusers.d/pipgate.conf                 the system user pipgate
#   /usr/share/doc/pipgate/                          README.md, pipgate.example.toml, deploy/vm/
#   maintainer scripts                               deploy/debian/{postinst,prerm,postrm}
#
# The layout is the Debian package's: the unit names /usr/bin/pipgate and /etc/pipgate, which is
# where the package puts them (CPACK_PACKAGING_INSTALL_PREFIX is /usr). The data directory,
# /var/lib/pipgate, is made by the postinst and systemd's StateDirectory=, never shipped.
# tests/integration/deploy/package_test.sh builds the package and installs it into a throwaway
# root.
include(GNUInstallDirs)

install(TARGETS pipgate pipgate-dns RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/deploy/pipgate.example.toml
        DESTINATION /etc/pipgate RENAME pipgate.toml)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/pipgate.service
        DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/pipgate.sysusers
        DESTINATION lib/sysusers.d RENAME pipgate.conf)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/deploy/pipgate.example.toml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pipgate)
# Beside the README, so its links to deploy/vm/README.md (logs, CA backup) work on the appliance.
install(FILES ${CMAKE_SOURCE_DIR}/deploy/vm/README.md ${CMAKE_SOURCE_DIR}/deploy/vm/user-data
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pipgate/deploy/vm)

set(PIPGATE_PACKAGE_MAINTAINER "pipgate maintainers <pipgate@localhost>"
    CACHE STRING "Maintainer field of the .deb")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pipgate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${PIPGATE_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "caching PyPI appliance for an office LAN (DNS + TLS proxy)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # pipgate_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PIPGATE_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The first line of the Description is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the body.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "pipgate makes every pip install (and uv, poetry, pdm) on the LAN fast and
offline-tolerant without changing any URL on the clients: it answers DNS for
pypi.org and files.pythonhosted.org with its own address, presents
certificates for both from an internal, name-constrained CA, and caches
index pages and files. The service runs as the unprivileged user pipgate;
its data (CA, certificates, cache) lives in /var/lib/pipgate.")
# Library dependencies come from dpkg-shlibdeps (libc-ares2, librocksdb7.8, android-libboringssl,
# ...: it finds BoringSSL's libraries through the executables' rpath). Added by hand: what the
# maintainer scripts and the default config use at run time.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, ca-certificates")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "dnsutils, curl")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/conffiles
    ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/prerm
    ${CMAKE_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
