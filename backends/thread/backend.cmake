# The monolithic backend: the network domain is a thread of the application.
file(GLOB MOAT_BACKEND_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.c)
set(MOAT_PC_LIBS "")
