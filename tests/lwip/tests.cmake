# SPDX-License-Identifier: MIT
# Interop with lwIP as the remote stack (issue 3): Debian's liblwip-dev is
# linked into this one test program and nowhere else. Without the package
# the test is not built (and says so at configure time).
#
# Symbol clash: moat's core has global internal functions whose names are
# also lwIP's (tcp_input, tcp_output, tcp_init, tcp_poll, ip4_input,
# ip4_route, icmp_input, udp_input). Two measures keep lwIP on its own code:
#  - the lwIP side (lwip_peer.c) is a shared library of its own that needs
#    no moat symbol, so its calls resolve through the dynamic linker;
#  - the executable keeps libmoat.a's symbols out of its dynamic symbol
#    table (--exclude-libs), so neither liblwip's internal calls nor
#    lwip_peer's bind to moat's definitions. lwip_peer checks this at start.
pkg_check_modules(LWIP IMPORTED_TARGET lwip)
if(LWIP_FOUND)
  add_library(moat_lwip_peer SHARED ${CMAKE_CURRENT_LIST_DIR}/lwip_peer.c)
  # lwIP's headers are a system library's (-isystem via the imported
  # target), so moat's warning flags do not apply to them.
  target_include_directories(moat_lwip_peer PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(moat_lwip_peer PRIVATE PkgConfig::LWIP Threads::Threads ${CMAKE_DL_LIBS})

  add_executable(test_lwip_interop ${CMAKE_CURRENT_LIST_DIR}/test_lwip_interop.c)
  target_link_libraries(test_lwip_interop PRIVATE moat_lwip_peer moat_testsupport)
  target_link_options(test_lwip_interop PRIVATE "LINKER:--exclude-libs,ALL")
  add_test(NAME test_lwip_interop COMMAND test_lwip_interop)
  set_tests_properties(test_lwip_interop PROPERTIES
    LABELS "integration;interop-lwip;backend:${MOAT_BACKEND}"
    ENVIRONMENT "${MOAT_TEST_ENV}" TIMEOUT 600)
else()
  message(STATUS "lwip (liblwip-dev) not found: test_lwip_interop is not built")
endif()

# lwip_tap_echo: the same lwIP peer as a TCP echo server on a TAP device,
# for bench/impaired.sh (lwIP on the impaired path next to moat and the
# kernel). Linked like test_lwip_interop, for the same symbol reason.
if(LWIP_FOUND)
  add_executable(lwip_tap_echo ${CMAKE_CURRENT_LIST_DIR}/lwip_tap_echo.c)
  target_include_directories(lwip_tap_echo PRIVATE ${PROJECT_SOURCE_DIR}/ports/linux)
  target_link_libraries(lwip_tap_echo PRIVATE moat_lwip_peer moat::moat)
  target_link_options(lwip_tap_echo PRIVATE "LINKER:--exclude-libs,ALL")
endif()
