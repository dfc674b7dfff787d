# SPDX-License-Identifier: MIT
# Unit-test extras that are not one-Check-program-per-file (included by
# tests/CMakeLists.txt).
#
# test_no_globals: the core must not have mutable global state (two stacks
# run in one process; DESIGN.md section 5). It runs nm over every object of
# moat_core and fails on any writable data symbol (.data, .bss, common,
# small-data). Read-only tables (.rodata) are fine.
add_test(NAME test_no_globals
  COMMAND ${CMAKE_COMMAND} -DOBJDUMP=${CMAKE_OBJDUMP}
          "-DOBJECTS=$<JOIN:$<TARGET_OBJECTS:moat_core>,|>"
          -P ${CMAKE_CURRENT_LIST_DIR}/no_globals.cmake)
set_tests_properties(test_no_globals PROPERTIES
  LABELS "unit;backend:${MOAT_BACKEND}" TIMEOUT 60)
