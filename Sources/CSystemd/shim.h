// libsystemd's service-manager and journal API: sd_notify, sd_watchdog_enabled, sd_listen_fds,
// sd_journal_sendv (the variadic sd_journal_send does not import into Swift).
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
