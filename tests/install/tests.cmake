# Install + consume the package (find_package, pkg-config, static archive).
# Not in sanitizer builds: the consumers are built without the sanitizer
# runtime, which must come first in the link.
if(NOT MOAT_SANITIZE)
  add_test(NAME test_install COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_install.sh
           ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  set_tests_properties(test_install PROPERTIES LABELS "unit;backend:${MOAT_BACKEND}" TIMEOUT 300)
endif()
