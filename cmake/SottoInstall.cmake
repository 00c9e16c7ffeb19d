# `cmake --install` (issue 15): the library an app links, its headers, a CMake
# package (find_package(Sotto) -> Sotto::client) and a pkg-config file
# (sotto.pc), plus the two commands. Each file belongs to one install
# component, which becomes one Debian package (cmake/SottoPackaging.cmake):
#   lib     libsotto.so.N                          -> libsotto1
#   dev     headers, libsotto.so, CMake, sotto.pc  -> libsotto-dev
#   cli     sotto, libexec/sotto/sotto-cli         -> sotto
#   server  sotto-server                           -> sotto-server
#   python  the `sotto` Python package             -> python3-sotto
include(CMakePackageConfigHelpers)

set(SOTTO_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Sotto)

install(TARGETS sotto_client EXPORT SottoTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    COMPONENT lib NAMELINK_COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/client-lib/include/sotto
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
  FILES_MATCHING PATTERN "*.h")
install(EXPORT SottoTargets NAMESPACE Sotto:: DESTINATION ${SOTTO_CMAKE_DIR}
  FILE SottoTargets.cmake COMPONENT dev)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/SottoConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/SottoConfig.cmake INSTALL_DESTINATION ${SOTTO_CMAKE_DIR})
# Same major version = same API promise (docs/EMBEDDING.md); while the
# project is 0.x, any minor release may break it, so 0.x matches only itself.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/SottoConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/SottoConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/SottoConfigVersion.cmake
  DESTINATION ${SOTTO_CMAKE_DIR} COMPONENT dev)

# sotto.pc finds its prefix from where it lies (${pcfiledir}), so the same
# file serves /usr (the .deb) and a private prefix (cmake --install --prefix).
file(RELATIVE_PATH SOTTO_PC_PREFIX_FROM_PCDIR
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" SOTTO_PC_PREFIX_FROM_PCDIR "${SOTTO_PC_PREFIX_FROM_PCDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/sotto.pc.in ${CMAKE_CURRENT_BINARY_DIR}/sotto.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sotto.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# The commands. Their own libraries (the server's parts, the CLI's helpers,
# the shared wire protos) are built shared to keep the test binaries' links
# quick; they are private, not an API, so they go to a directory of their own
# that only the two commands look in (RUNPATH), never next to libsotto.so.
set(SOTTO_PRIVATE_LIBDIR ${CMAKE_INSTALL_LIBDIR}/sotto)
file(RELATIVE_PATH bin_to_libdir /prefix/${CMAKE_INSTALL_BINDIR} /prefix/${CMAKE_INSTALL_LIBDIR})
set_target_properties(sotto-server PROPERTIES
  INSTALL_RPATH "$ORIGIN/${bin_to_libdir}/sotto;$ORIGIN/${bin_to_libdir}")
# `sotto` is the front (cli/front/, libc only); the full command it execs
# lives in libexec, out of PATH.
file(RELATIVE_PATH libexec_to_libdir /prefix/${CMAKE_INSTALL_LIBEXECDIR}/sotto
     /prefix/${CMAKE_INSTALL_LIBDIR})
set_target_properties(sotto-cli PROPERTIES
  INSTALL_RPATH "$ORIGIN/${libexec_to_libdir}/sotto;$ORIGIN/${libexec_to_libdir}")
install(TARGETS sotto RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
install(TARGETS sotto-cli RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/sotto COMPONENT cli)
install(TARGETS sotto_cli sotto_cli_commands sotto_cli_agent
  LIBRARY DESTINATION ${SOTTO_PRIVATE_LIBDIR} COMPONENT cli)
install(TARGETS sotto-server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
set(sotto_server_libs sotto_server_cli sotto_server_rpc sotto_server_operator sotto_server_app
    sotto_server_notify sotto_server_domain sotto_server_storage sotto_proto)
# They find each other beside themselves.
set_target_properties(${sotto_server_libs} sotto_cli sotto_cli_commands sotto_cli_agent
  PROPERTIES INSTALL_RPATH "$ORIGIN")
install(TARGETS ${sotto_server_libs}
  LIBRARY DESTINATION ${SOTTO_PRIVATE_LIBDIR} COMPONENT server)

# The Python package (python/sotto, over the C API) where Debian's python3
# looks: lib/python3/dist-packages, not the multiarch library directory. It
# finds libsotto.so.N under the same prefix by itself (sotto/_ffi.py).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/sotto
  DESTINATION lib/python3/dist-packages COMPONENT python
  PATTERN __pycache__ EXCLUDE)
