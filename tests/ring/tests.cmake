# SPDX-License-Identifier: MIT
# Ring stress test (every backend: the ring is shared by all of them; the
# single-threaded ring units are tests/unit/test_ring.c).
# test_ring_stress is the one to run under -DMOAT_SANITIZE=thread.
# test_stats_snapshot: the stats snapshot protocol (core/boundary.h) under a
# concurrent writer.
foreach(_t test_ring_stress test_stats_snapshot)
  add_executable(${_t} ${CMAKE_CURRENT_LIST_DIR}/${_t}.c)
  target_link_libraries(${_t} PRIVATE moat_testsupport)
  add_test(NAME ${_t} COMMAND ${_t})
  set_tests_properties(${_t} PROPERTIES LABELS "unit;core"
    ENVIRONMENT "${MOAT_TEST_ENV}" TIMEOUT 300)
endforeach()
