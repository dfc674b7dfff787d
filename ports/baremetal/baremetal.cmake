# SPDX-License-Identifier: MIT
# The bare-metal port as a build check: the protocol core plus the stub
# link, stub rng and example main loop compiled as a freestanding static
# library (nothing is linked: there is no target board here), and two
# CTest checks that keep the core freestanding:
#   freestanding_headers  only <stdint.h> <stddef.h> <stdbool.h> <string.h>
#                         <stdatomic.h> and local headers in core/ and include/moat/
#   freestanding_symbols  the library needs nothing from libc but the
#                         <string.h> functions
#   baremetal_example     the example loop, linked on the host, runs
#   freestanding_cross    core + stubs cross-compiled with clang for Cortex-M4
#                         and big-endian MIPS (skipped without clang)
# and the library and two checks again for the smallest core, without TCP
# and without the DHCP client (moat_baremetal_min: core/tcp.c, tcp_*.c and
# dhcp.c left out, core/tcp_none.c and dhcp_none.c built with
# MOAT_CORE_TCP=0 MOAT_CORE_DHCP=0 instead; docs/footprint.md):
#   freestanding_symbols_min, baremetal_example_min
# Included from the top-level CMakeLists.txt.
set(_bm_dir ${CMAKE_CURRENT_LIST_DIR})
file(GLOB _bm_core CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/core/*.c)
file(GLOB _bm_port CONFIGURE_DEPENDS ${_bm_dir}/*.c)
list(FILTER _bm_port EXCLUDE REGEX "host_main\\.c$")   # hosted test driver, below

# The smallest core: every core file but tcp.c, tcp_*.c and dhcp.c, plus
# tcp_none.c and dhcp_none.c (which are empty unless MOAT_CORE_TCP=0 and
# MOAT_CORE_DHCP=0).
set(_bm_core_min ${_bm_core})
list(FILTER _bm_core_min EXCLUDE REGEX "/core/(tcp(_[a-z_]+)?|dhcp(_[a-z_]+)?)\\.c$")
list(APPEND _bm_core_min ${PROJECT_SOURCE_DIR}/core/tcp_none.c ${PROJECT_SOURCE_DIR}/core/dhcp_none.c)

add_library(moat_baremetal_check STATIC ${_bm_core} ${_bm_port})
add_library(moat_baremetal_min STATIC ${_bm_core_min} ${_bm_port})
target_compile_definitions(moat_baremetal_min PRIVATE MOAT_CORE_TCP=0 MOAT_CORE_DHCP=0)
foreach(_bm_lib moat_baremetal_check moat_baremetal_min)
  target_include_directories(${_bm_lib} PRIVATE
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/core ${PROJECT_SOURCE_DIR} ${_bm_dir})
  # A firmware build has no sanitizer runtime and no stack-protector
  # support: drop what the top level added for hosted code and build as a
  # freestanding compiler would (-nostdlib matters only when linking, which
  # a board's own build does; the symbols test checks the same thing).
  get_target_property(_bm_opts ${_bm_lib} COMPILE_OPTIONS)
  if(_bm_opts)
    list(FILTER _bm_opts EXCLUDE REGEX "sanitize|omit-frame-pointer")
    set_property(TARGET ${_bm_lib} PROPERTY COMPILE_OPTIONS ${_bm_opts})
  endif()
  target_compile_options(${_bm_lib} PRIVATE
    -ffreestanding -fno-builtin -fno-stack-protector)
  set_target_properties(${_bm_lib} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
endforeach()

if(MOAT_BUILD_TESTS AND MOAT_CORE_TESTS)
  # The example loop run on the host (links the freestanding objects
  # against the host's libc, which provides memcpy and friends).
  add_executable(moat_baremetal_example ${_bm_dir}/host_main.c)
  target_include_directories(moat_baremetal_example PRIVATE
    ${PROJECT_SOURCE_DIR}/include ${_bm_dir})
  target_link_libraries(moat_baremetal_example PRIVATE moat_baremetal_check)
  add_test(NAME baremetal_example COMMAND moat_baremetal_example)
  add_executable(moat_baremetal_example_min ${_bm_dir}/host_main.c)
  target_include_directories(moat_baremetal_example_min PRIVATE
    ${PROJECT_SOURCE_DIR}/include ${_bm_dir})
  target_link_libraries(moat_baremetal_example_min PRIVATE moat_baremetal_min)
  target_compile_definitions(moat_baremetal_example_min PRIVATE MOAT_CORE_TCP=0 MOAT_CORE_DHCP=0)
  add_test(NAME baremetal_example_min COMMAND moat_baremetal_example_min)
  add_test(NAME freestanding_symbols_min
    COMMAND sh ${_bm_dir}/check_freestanding.sh symbols $<TARGET_FILE:moat_baremetal_min>)
  add_test(NAME freestanding_headers
    COMMAND sh ${_bm_dir}/check_freestanding.sh headers ${PROJECT_SOURCE_DIR})
  add_test(NAME freestanding_symbols
    COMMAND sh ${_bm_dir}/check_freestanding.sh symbols $<TARGET_FILE:moat_baremetal_check>)
  add_test(NAME freestanding_cross
    COMMAND sh ${_bm_dir}/check_freestanding.sh cross ${PROJECT_SOURCE_DIR}
            ${CMAKE_CURRENT_BINARY_DIR}/baremetal-cross)
  set_tests_properties(freestanding_headers freestanding_symbols baremetal_example
    baremetal_example_min freestanding_symbols_min PROPERTIES LABELS "unit;core" TIMEOUT 120)
  # Builds the core with a cross compiler (about 30 s): not in the fast
  # loop's unit label; scripts/test.sh runs it in its core build.
  set_tests_properties(freestanding_cross PROPERTIES LABELS "freestanding;core" TIMEOUT 120)
  set_tests_properties(freestanding_cross PROPERTIES SKIP_RETURN_CODE 77)
endif()
