# Debian packages (issue 15): `make deb`, i.e. `cpack -G DEB` in the build
# directory, makes one package per install component (cmake/SottoInstall.cmake):
#   libsotto1      the shared library an app runs with
#   libsotto-dev   what an app builds with: headers, libsotto.so, the CMake
#                  package and sotto.pc
#   sotto          the command-line client
#   sotto-server   the server
#   python3-sotto  the Python package over the C API
# Their dependencies on Debian's libraries (gRPC, RocksDB, libsignal, ...)
# come from dpkg-shlibdeps, which reads what each binary actually loads.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sotto)
set(CPACK_PACKAGE_VENDOR "Sotto")
set(CPACK_PACKAGE_CONTACT "Sotto maintainers <sotto@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "End-to-end encrypted asynchronous messaging for teletherapy")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
# As Debian ships binaries: without the debug info RelWithDebInfo adds (a
# -dbg package is not made).
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL lib dev cli server python)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The commands' private libraries (lib/sotto) are inside their own packages;
# dpkg-shlibdeps must look there instead of asking for a package of them.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
  ${CMAKE_BINARY_DIR}/client-lib ${CMAKE_BINARY_DIR}/cli ${CMAKE_BINARY_DIR}/proto
  ${CMAKE_BINARY_DIR}/server/cli ${CMAKE_BINARY_DIR}/server/rpc ${CMAKE_BINARY_DIR}/server/operator
  ${CMAKE_BINARY_DIR}/server/app ${CMAKE_BINARY_DIR}/server/notify
  ${CMAKE_BINARY_DIR}/server/domain ${CMAKE_BINARY_DIR}/server/storage)
# A component that depends on another gets a Depends on its package, at the
# same version (the CLI on libsotto1; -dev on libsotto1).
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libsotto${SOTTO_SOVERSION})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_LIB_DESCRIPTION
  "Sotto client library\n The shared library apps embed to message end-to-end encrypted with\n a Sotto server: the C API (sotto/sotto.h) and the C++ API (sotto::Client).")
# shlibs file, so that other packages' dpkg-shlibdeps find libsotto1.
set(CPACK_DEBIAN_LIB_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libsotto-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS lib)
# The C++ headers include Abseil's; pkg-config is how a C program finds us.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libabsl-dev, pkg-config")
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "Sotto client library: development files\n Headers, the libsotto.so link, the CMake package (find_package(Sotto))\n and sotto.pc (pkg-config sotto).")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME sotto)
set(CPACK_COMPONENT_CLI_DEPENDS lib)
set(CPACK_COMPONENT_CLI_DESCRIPTION
  "Sotto command-line client\n The `sotto` command: register, send and read end-to-end encrypted\n messages and letters, the therapist's queue, safety numbers.")

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME sotto-server)
set(CPACK_COMPONENT_SERVER_DESCRIPTION
  "Sotto server\n sotto-server stores and relays only ciphertext (gRPC over RocksDB).")

set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-sotto)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_ARCHITECTURE all)
set(CPACK_COMPONENT_PYTHON_DEPENDS lib)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "python3, python3-cffi")
set(CPACK_COMPONENT_PYTHON_DESCRIPTION
  "Sotto client library: Python package\n The `sotto` module (import sotto): sotto.Client over libsotto's C API,\n with exceptions, context managers and iterators.")

include(CPack)
