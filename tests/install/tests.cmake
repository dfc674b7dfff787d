# Install + consume the package (find_package, pkg-config, static archive).
# Not in sanitizer builds: the consumers are built without the sanitizer
# runtime, which must come first in the link. Nor in cross builds
# (cmake/s390x-linux-gnu.cmake): the consumers are built with the host's
# compiler by the test script.
# Label "install", not "unit": it installs the tree and builds consumer
# projects (a packaging test, not a test of the stack), so "ctest -L unit"
# holds only tests of the code itself.
# scripts/test.sh still runs it in every unsanitized build (it excludes
# only the interop label).
if(NOT MOAT_SANITIZE AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME test_install COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_install.sh
           ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  set_tests_properties(test_install PROPERTIES LABELS "install;backend:${MOAT_BACKEND}" TIMEOUT 300)
endif()
