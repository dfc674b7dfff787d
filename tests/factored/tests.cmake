# SPDX-License-Identifier: MIT
# Tests of the factored backends' boundary and supervision.
#   test_hostile_link   every backend (the link ring is compiled into libmoat)
#   test_hostile_app    every backend: an application that lies on the socket
#                       boundary; the net domain survives
#   test_hostile_net    every backend: a net domain that lies; the client
#                       fails its calls, never crashes or hangs
#   test_netd_death     process and seccomp: kill moat-netd, check MOAT_E_DEAD
#   test_confine        seccomp with MOAT_TEST_HOOKS (not MOAT_SECCOMP_DEBUG,
#                       which only logs): forbidden calls -> SIGSYS
set(_moat_factored_tests test_hostile_link test_hostile_app test_hostile_net)
if(MOAT_BACKEND STREQUAL "process" OR MOAT_BACKEND STREQUAL "seccomp")
  list(APPEND _moat_factored_tests test_netd_death)
  if(MOAT_BACKEND STREQUAL "seccomp" AND MOAT_TEST_HOOKS AND NOT MOAT_SECCOMP_DEBUG)
    list(APPEND _moat_factored_tests test_confine)
  endif()
endif()
foreach(_t ${_moat_factored_tests})
  add_executable(${_t} ${CMAKE_CURRENT_LIST_DIR}/${_t}.c)
  target_link_libraries(${_t} PRIVATE moat_testsupport)
  if(_t STREQUAL "test_confine")
    # Reads the filters back (backends/seccomp/filter.c) and checks them
    # against the tables (policy.c).
    target_sources(${_t} PRIVATE ${PROJECT_SOURCE_DIR}/backends/seccomp/policy.c
                   ${PROJECT_SOURCE_DIR}/backends/seccomp/filter.c)
    target_link_libraries(${_t} PRIVATE PkgConfig::SECCOMP)
  endif()
  add_test(NAME ${_t} COMMAND ${_t})
  set_tests_properties(${_t} PROPERTIES LABELS "factored;backend:${MOAT_BACKEND}"
    ENVIRONMENT "${MOAT_TEST_ENV}" TIMEOUT 300)
endforeach()

# Fault injection through a real TAP device (root, like the interop layer).
if(MOAT_BACKEND STREQUAL "process" OR MOAT_BACKEND STREQUAL "seccomp")
  add_test(NAME interop_linkd_kill_tap
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_linkd_kill_tap.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(interop_linkd_kill_tap PROPERTIES
    LABELS "interop;factored;backend:${MOAT_BACKEND}" ENVIRONMENT "${MOAT_TEST_ENV}"
    TIMEOUT 300 RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
endif()

# The fault campaign (docs/faults.md), short form: 10 link-domain kills,
# net domain SIGKILL and SIGSTOP, application SIGKILL with 8 connections,
# slot and memory exhaustion; about 35 s. The backend matters little here
# (process and seccomp share the domains), so it runs in seccomp only;
# scripts/faults.sh runs the long form in both.
if(MOAT_BACKEND STREQUAL "seccomp")
  add_test(NAME interop_faults_tap
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_faults_tap.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(interop_faults_tap PROPERTIES
    LABELS "interop;factored;backend:${MOAT_BACKEND}" ENVIRONMENT "${MOAT_TEST_ENV}"
    TIMEOUT 300 RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
endif()

# moat-policy exits 1 if a domain's compiled filter lets through more than
# the budget of backends/seccomp/policy.h (test_confine counts the filters
# the running domains installed).
if(MOAT_BACKEND STREQUAL "seccomp")
  add_test(NAME moat_policy_budget COMMAND moat-policy)
  set_tests_properties(moat_policy_budget PROPERTIES LABELS "factored;backend:${MOAT_BACKEND}"
    TIMEOUT 60)
endif()
