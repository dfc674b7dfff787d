# Install + consume the package (find_package, pkg-config, static archive).
# Not in sanitizer builds: the consumers are built without the sanitizer
# runtime, which must come first in the link. Nor in cross builds
# (cmake/s390x-linux-gnu.cmake): the consumers are built with the host's
# compiler by the test script.
if(NOT MOAT_SANITIZE AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME test_install COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_install.sh
           ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  set_tests_properties(test_install PROPERTIES LABELS "unit;backend:${MOAT_BACKEND}" TIMEOUT 300)
endif()
