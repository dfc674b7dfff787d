/* Uses only the installed public headers: parse an address, name an error. */
#include <moat/moat.h>
#include <moat/socket.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    struct moat_config cfg;
    uint32_t ip;
    moat_config_defaults(&cfg);
    if (moat_ip4_parse("192.0.2.7", &ip) != 0 || ip != 0xc0000207u)
        return 1;
    if (strcmp(moat_errname(MOAT_E_AGAIN), "MOAT_E_AGAIN") != 0)
        return 1;
    printf("consumer: backend=%s max_sockets=%u\n", moat_backend_name(), cfg.max_sockets);
    return 0;
}
